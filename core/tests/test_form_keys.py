"""Page forms that create something are safe to submit twice: a one-time key replays the first answer."""

from __future__ import annotations

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from cases.models import CaseNote, Client
from cases.tests.factories import make_case, make_client

pytestmark = pytest.mark.django_db

KEY = re.compile(r'name="form_key" value="([0-9a-f]{32})"')


def _key_in(html: str, action: str) -> str:
    """The one-time key of the form posting to `action` on the page (or the form with that attribute)."""
    marker = action if "=" in action else f'action="{action}"'
    start = html.index(marker)
    form = html[start : html.index("</form>", start)]
    found = KEY.search(form)
    assert found, f"the form {marker} has no one-time key"
    return found.group(1)


def test_a_note_sent_twice_with_its_key_is_added_once_and_the_repeat_lands_where_the_first_went(client, counselor):
    case = make_case(counselor)
    client.force_login(counselor)
    page = client.get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    action = reverse("cases:case_note_add", args=[case.pk])
    key = _key_in(page, action)
    first = client.post(action, {"text": "첫 상담 메모", "form_key": key})
    second = client.post(action, {"text": "첫 상담 메모", "form_key": key})
    assert first.status_code == second.status_code == 302 and second["Location"] == first["Location"]
    assert CaseNote.objects.filter(case=case).count() == 1
    assert "이미 보낸 양식입니다" in " ".join(str(m) for m in get_messages(second.wsgi_request))
    # Changed and sent again under the same key (the back button): nothing new, and it says why.
    third = client.post(action, {"text": "고친 메모", "form_key": key})
    assert third.status_code == 303 and third["Location"] == first["Location"]
    assert list(CaseNote.objects.filter(case=case).values_list("text", flat=True)) == ["첫 상담 메모"]
    # A form rendered again is a new intent with a new key.
    again = _key_in(client.get(reverse("cases:case_detail", args=[case.pk])).content.decode(), action)
    assert again != key
    client.post(action, {"text": "두 번째 메모", "form_key": again})
    assert CaseNote.objects.filter(case=case).count() == 2


def test_a_double_submitted_intake_registers_the_walk_in_once(client, counselor):
    client.force_login(counselor)
    page = client.get(reverse("cases:intake")).content.decode()
    key = _key_in(page, 'class="intake"')  # the intake form posts to its own page
    body = {
        "name": "두번클릭", "birth_date": "1985-05-05", "phone": "010-3100-4700", "collection_consent": "on",
        "consent_method": "paper", "channel": "walk_in", "income_band": "unknown", "employment_status": "unknown",
        "debt_status": "unknown", "needs": ["job_search"], "form_key": key,
    }  # fmt: skip
    first = client.post(reverse("cases:intake"), body)
    second = client.post(reverse("cases:intake"), body)
    assert first.status_code == 302 and second["Location"] == first["Location"]
    assert Client.objects.filter(name="두번클릭").count() == 1


def test_a_refused_form_keeps_no_key_so_the_corrected_form_goes_through(client, counselor):
    client.force_login(counselor)
    page = client.get(reverse("cases:intake")).content.decode()
    key = _key_in(page, 'class="intake"')
    body = {
        "name": "고쳐보냄", "birth_date": "", "phone": "010-3100-4701", "collection_consent": "on",
        "consent_method": "paper", "channel": "walk_in", "income_band": "unknown", "employment_status": "unknown",
        "debt_status": "unknown", "needs": ["job_search"], "form_key": key,
    }  # fmt: skip
    assert client.post(reverse("cases:intake"), body).status_code == 400
    fixed = client.post(reverse("cases:intake"), {**body, "birth_date": "1985-05-06"})
    assert fixed.status_code == 302 and Client.objects.filter(name="고쳐보냄").count() == 1


def test_every_form_that_creates_something_carries_a_key(client, counselor):
    case = make_case(counselor)
    person = make_client(counselor)
    client.force_login(counselor)
    pages = {
        reverse("cases:intake"): ['class="intake"'],
        reverse("cases:case_detail", args=[case.pk]): [
            reverse("cases:case_note_add", args=[case.pk]),
            reverse("referral:create_many"),
        ],
        reverse("cases:client_detail", args=[person.pk]): [reverse("cases:consent_add", args=[person.pk])],
        reverse("cases:import_list"): [reverse("cases:import_upload")],
        reverse("referral:outgoing"): [reverse("referral:create")],
        reverse("privacy:request_new", args=[person.pk]): ['data-testid="request-form"'],
    }
    for url, actions in pages.items():
        html = client.get(url).content.decode()
        for action in actions:
            _key_in(html, action)


def test_a_changed_repeat_of_a_form_answered_in_place_goes_back_to_the_form_page(client, counselor):
    """A first answer without a redirect (an export, a page): a changed repeat returns to the page it came from."""
    from core.idempotency import FORM_FIELD
    from core.models import IdempotencyRecord

    case = make_case(counselor)
    client.force_login(counselor)
    page = reverse("cases:case_detail", args=[case.pk])
    action = reverse("cases:case_note_add", args=[case.pk])
    IdempotencyRecord.objects.create(
        user=counselor, key="form:" + "a" * 32, request_hash="x", path=action, created_at=timezone.now(),
        status_code=200, content_type="text/html",
    )  # fmt: skip
    repeat = client.post(action, {"text": "다른 메모", FORM_FIELD: "a" * 32}, HTTP_REFERER=f"http://testserver{page}")
    assert repeat.status_code == 303 and repeat["Location"] == f"http://testserver{page}"
    elsewhere = client.post(action, {"text": "또 다른", FORM_FIELD: "a" * 32}, HTTP_REFERER="https://evil.example/")
    assert elsewhere["Location"] == "/"
    assert not CaseNote.objects.filter(case=case).exists()
