"""Hostile input on the existing forms and endpoints: a 4xx or a field error, never a 500, always escaped."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "'; DROP TABLE centers_center; --",
    "\x00nul",
    "tab\tnew\nline\rcr\x1b[31m\x07",
    "\u202eevil\u200b",  # bidi override and zero-width space
    "관악\u0410\u0412",  # mixed Hangul and Cyrillic
    "\U0001f600" * 50,
    "x" * 10_000,
]


@pytest.fixture
def raw_client(client):
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("value", HOSTILE)
def test_login_page_answers_hostile_credentials_with_an_error_and_escapes_them(raw_client, directory, value):
    response = raw_client.post("/accounts/login/", {"username": value, "password": value}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    if "\x00" in value:  # config.middleware refuses NUL in any form value
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "<script>alert" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "_auth_user_id" not in raw_client.session


@pytest.mark.parametrize("value", ["x" * 10_000, "<b>admin</b>"])
def test_admin_login_answers_hostile_credentials_with_an_error(raw_client, directory, value):
    response = raw_client.post("/admin/login/", {"username": value, "password": "pw"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "errornote" in response.content.decode() or "errorlist" in response.content.decode()
    assert "<b>admin</b>" not in response.content.decode()


@pytest.mark.parametrize("value", HOSTILE)
def test_token_api_answers_hostile_credentials_with_400(directory, value):
    response = APIClient().post("/api/v1/auth/token/", {"username": value, "password": value}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{",
        json.dumps({"username": ["a"], "password": {"b": 1}}),
        json.dumps({"username": None, "password": None}),
        json.dumps({"username": 1e308, "password": True}),
        json.dumps([1, 2, 3]),
        json.dumps({}),
        json.dumps({"username": "\ud800", "password": "x"}),  # a lone surrogate, escaped in JSON
    ],
)
def test_token_api_answers_malformed_json_with_400(directory, body):
    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()


def test_token_api_refuses_an_oversized_body_without_a_500(directory):
    response = APIClient().post("/api/v1/auth/token/", {"username": "u" * 3_000_000, "password": "p"}, format="json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("value", HOSTILE)
def test_directory_filters_ignore_hostile_values_and_render_escaped(raw_client, counselor, value):
    raw_client.force_login(counselor)
    response = raw_client.get("/directory/", {"kind": value, "region": value})
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/centers/?kind=<script>",
        "/api/v1/centers/?region=%27%20OR%201%3D1--",
        "/api/v1/centers/?region=%00",
        "/api/v1/centers/?page=-1",
        "/api/v1/centers/?page=99999999999999999999",
        "/api/v1/centers/?page_size=999999999999",
        "/api/v1/centers/99999999999999999999999/",
        "/api/v1/centers/%00/",
        "/api/v1/desks/?center=%C2%B2",
        "/api/v1/desks/?center=99999999999999999999999",
        "/api/v1/desks/?outreach=maybe",
        "/api/v1/desks/?domain=%3Cb%3E",
        "/api/v1/desks/?service=%27%3B--",
        "/api/v1/services/%00/",
        "/api/v1/services/%E2%80%AE/",
        "/api/v1/services/?domain=%00",
    ],
)
def test_api_filters_and_lookups_answer_hostile_values_with_a_clear_4xx_or_an_empty_result(counselor, url):
    api = APIClient()
    api.raise_request_exception = False
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=counselor).key}")
    response = api.get(url)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert "detail" in response.json() or response.status_code == 400


@pytest.mark.sqlite
def test_a_nul_byte_in_the_query_string_is_a_400_not_a_database_error(raw_client, counselor):
    raw_client.force_login(counselor)
    assert raw_client.get("/directory/?region=%00").status_code == 400
    response = raw_client.get("/api/v1/desks/?center=%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_password_change_form_refuses_control_characters_and_oversized_input(raw_client, counselor):
    raw_client.force_login(counselor)
    response = raw_client.post(
        "/accounts/password/",
        {"old_password": "\x00", "new_password": "y" * 300, "new_password_again": "y" * 300},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400  # NUL refused before the form
    response = raw_client.post(
        "/accounts/password/",
        {"old_password": "\x1b[31m", "new_password": "y" * 300, "new_password_again": "y" * 300},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "new_password" in form.errors
    counselor.refresh_from_db()
    assert counselor.check_password(PASSWORD)


def test_an_unknown_api_url_answers_json_404(counselor):
    api = APIClient()
    api.force_authenticate(counselor)
    response = api.get("/api/v1/centers/./")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("value", ["maybe", "2", "<b>", "true'--"])
def test_cases_list_refuses_a_mine_flag_that_is_not_a_boolean(counselor, value):
    api = APIClient()
    api.force_authenticate(counselor)
    resp = api.get("/api/v1/cases/", {"mine": value})
    assert resp.status_code == 400 and "mine" in resp.json()
    assert api.get("/api/v1/cases/", {"mine": "true"}).status_code == 200


# --- Forms that store what people type: intake, case notes, referral notes and outcomes, stats filters. ---

# Free text may hold markup or quotes (stored as typed, shown escaped); these must be refused outright.
REFUSED_IN_TEXT = {"tab\tnew\nline\rcr\x1b[31m\x07", "\u202eevil\u200b", "x" * 10_000}
RAW_MARKUP = ('<script>alert("x")</script>', "<img src=x onerror=alert(1)>")


def _no_raw_markup(html: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html, f"unescaped {raw!r} in the page"


def _logged_in(raw_client, user):
    raw_client.force_login(user)
    return raw_client


@pytest.mark.parametrize("value", [v for v in HOSTILE if "\x00" not in v])
def test_intake_refuses_a_hostile_name_with_a_field_error_and_saves_nothing(raw_client, counselor, value):
    from cases.models import Client

    c = _logged_in(raw_client, counselor)
    resp = c.post(
        "/cases/intake/",
        {
            "name": value,
            "birth_date": "1990-01-01",
            "phone": "010-1234-5678",
            "collection_consent": "on",
            "consent_method": "paper",
            "channel": "walk_in",
            "income_band": "unknown",
            "employment_status": "unknown",
            "debt_status": "unknown",
            "note": value,
        },
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert 'id="id_name"' in html and ('class="errorlist' in html or "field-error" in html)
    _no_raw_markup(html)
    assert Client.objects.count() == 0


@pytest.mark.parametrize("field", ["phone", "birth_date", "rrn", "household_size", "channel", "needs"])
def test_intake_refuses_malformed_values_in_structured_fields(raw_client, counselor, field):
    from cases.models import Client

    c = _logged_in(raw_client, counselor)
    for value in ["<script>alert(1)</script>", "' OR 1=1 --", "９９９", "x" * 5000]:
        data = {
            "name": "김민준",
            "birth_date": "1990-01-01",
            "phone": "010-1234-5678",
            "collection_consent": "on",
            "consent_method": "paper",
            "channel": "walk_in",
            "income_band": "unknown",
            "employment_status": "unknown",
            "debt_status": "unknown",
            field: value,
        }
        resp = c.post("/cases/intake/", data)
        assert resp.status_code == 400, value
        _no_raw_markup(resp.content.decode())
    assert Client.objects.count() == 0


@pytest.fixture
def open_case(counselor):
    from cases.tests.factories import make_case

    return make_case(counselor)


@pytest.mark.parametrize("value", [v for v in HOSTILE if "\x00" not in v])
def test_case_notes_store_markup_as_text_and_refuse_control_characters_and_oversize(
    raw_client, counselor, open_case, value
):
    from cases.models import CaseNote

    c = _logged_in(raw_client, counselor)
    resp = c.post(f"/cases/{open_case.pk}/notes/", {"text": value}, follow=True)
    assert resp.status_code == 200
    html = resp.content.decode()
    _no_raw_markup(html)
    saved = CaseNote.objects.filter(case=open_case).count()
    if value in REFUSED_IN_TEXT:
        assert saved == 0
    else:
        assert saved == 1 and CaseNote.objects.get(case=open_case).text == value.strip()
    if value.startswith("<script>"):
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.parametrize("value", sorted(REFUSED_IN_TEXT))
def test_case_notes_api_refuses_control_characters_and_oversize_with_a_field_error(counselor, open_case, value):
    api = APIClient()
    api.force_authenticate(counselor)
    resp = api.post(f"/api/v1/cases/{open_case.pk}/notes/", {"text": value}, format="json")
    assert resp.status_code == 400 and "text" in resp.json()


@pytest.fixture
def received(counselor, mf_counselor, django_capture_on_commit_callbacks):
    from referral.tests.helpers import send

    return send(counselor, "debt_adjustment", capture=django_capture_on_commit_callbacks)


@pytest.mark.parametrize("value", [v for v in HOSTILE if "\x00" not in v])
def test_referral_note_decline_and_complete_forms_store_markup_escaped_and_refuse_control_characters(
    raw_client, counselor, mf_counselor, received, value, django_capture_on_commit_callbacks
):
    from referral.models import Referral, ReferralEvent

    refused = value in REFUSED_IN_TEXT
    c = _logged_in(raw_client, mf_counselor)
    # Accept with a hostile note in the (ignored) field, then start with the hostile note.
    c.post(f"/referrals/{received.pk}/accept/", {"note": value})
    events = ReferralEvent.objects.count()
    resp = c.post(f"/referrals/{received.pk}/start/", {"note": value}, follow=True)
    assert resp.status_code == 200
    _no_raw_markup(resp.content.decode())
    assert ReferralEvent.objects.count() == events + (0 if refused else 1)
    # Complete with hostile detail values and note: details are bounded, markup shown escaped.
    resp = c.post(
        f"/referrals/{received.pk}/complete/",
        {"outcome": "fast_track_agreed", "achieved": "yes", "detail_program": value[:200], "note": value},
        follow=True,
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    _no_raw_markup(html)
    r = Referral.objects.get(pk=received.pk)
    assert r.status == ("accepted" if refused else "completed")
    # Decline note on a fresh referral: refused when hostile control characters, escaped otherwise.
    from referral.tests.helpers import send

    other = send(counselor, "debt_adjustment", capture=django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post(f"/referrals/{other.pk}/decline/", {"reason": "other", "note": value}, follow=True)
    assert resp.status_code == 200
    _no_raw_markup(resp.content.decode())
    assert ReferralEvent.objects.filter(referral=other, kind="decline").count() == (0 if refused else 1)
    # The sender reads the notes on the referral page, escaped.
    sender = raw_client.__class__()
    sender.force_login(counselor)
    _no_raw_markup(sender.get(f"/referrals/{other.pk}/").content.decode())


@pytest.mark.parametrize("value", [v for v in HOSTILE if "\x00" not in v])
def test_referral_creation_note_is_refused_or_stored_and_shown_escaped(raw_client, counselor, value):
    from referral.models import Referral
    from referral.tests.factories import case_with_consent

    case = case_with_consent(counselor)
    c = _logged_in(raw_client, counselor)
    resp = c.post("/referrals/new/", {"case": case.pk, "service": "kesp", "note": value}, follow=True)
    assert resp.status_code == 200
    _no_raw_markup(resp.content.decode())
    created = Referral.objects.filter(case=case)
    assert created.count() == (0 if value in REFUSED_IN_TEXT else 1)
    if created:
        _no_raw_markup(c.get(f"/referrals/{created.get().pk}/").content.decode())


STATS_PARAMS = ["from", "to", "center", "kind", "region", "domain", "group"]


@pytest.mark.parametrize("param", STATS_PARAMS)
def test_stats_filters_answer_hostile_values_with_a_clear_error_never_a_500(raw_client, ministry_user, param):
    c = _logged_in(raw_client, ministry_user)
    api = APIClient()
    api.force_authenticate(ministry_user)
    for value in [v for v in HOSTILE if "\x00" not in v] + ["2024-13", "9999-01", "-1", "１２"]:
        for url in ("/stats/", "/stats/export.csv"):
            resp = c.get(url, {param: value})
            assert resp.status_code in (200, 400), (url, value, resp.status_code)
            _no_raw_markup(resp.content.decode("utf-8", "replace"))
        resp = api.get("/api/v1/stats/monthly/", {param: value})
        assert resp.status_code in (200, 400), (value, resp.status_code)
        if resp.status_code == 400:
            assert param in resp.json() or "detail" in resp.json()
