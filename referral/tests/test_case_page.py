"""The case page closes the loop: its referrals with their status, and its suggestions sent in one POST."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from cases.models import Client
from core.workdays import SEOUL
from referral import services
from referral.models import Referral
from referral.tests.factories import case_with_consent
from referral.tests.helpers import walk_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def _case_with_suggestions(counselor):
    """A case whose client is out of work, low-income and 95 days in arrears: several rules fire."""
    case = case_with_consent(counselor)
    Client.objects.filter(pk=case.client_id).update(
        employment_status="unemployed", income_band="below_50", debt_status="arrears", arrears_days=95
    )
    return case


def _suggested(html: str) -> list[str]:
    import re

    return re.findall(r'<tr data-service="([a-z_]+)"', html)


def _send_all_post(case, services_: list[str]) -> dict:
    return {
        "case": case.pk,
        "next": f"/cases/{case.pk}/",
        "service": services_,
        "priority": ["urgent", *["normal"] * (len(services_) - 1)],
        "note": [f"메모 {s}" for s in services_],
    }


def test_case_page_lists_its_referrals_with_status_desk_and_link(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    html = web(counselor).get(reverse("cases:case_detail", args=[r.case_id])).content.decode()
    row = html.split(f'<tr data-referral="{r.pk}"', 1)[1].split("</tr>", 1)[0]
    assert f'href="{reverse("referral:detail", args=[r.pk])}"' in row
    assert "채무조정(신용회복위원회)" in row
    assert "접수" in row and r.to_desk.name in row and r.to_center.name in row
    # Another case's referral is not listed.
    other = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    html = web(counselor).get(reverse("cases:case_detail", args=[r.case_id])).content.decode()
    assert f'data-referral="{other.pk}"' not in html


def test_closed_referral_shows_its_outcome_label(counselor, mf_counselor, web, django_capture_on_commit_callbacks):
    r = walk_to("completed", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    html = web(counselor).get(reverse("cases:case_detail", args=[r.case_id])).content.decode()
    row = html.split(f'<tr data-referral="{r.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "완료" in row and "신속채무조정 확정" in row


def test_a_sent_suggestion_shows_its_referral_instead_of_the_refer_button(
    counselor, web, django_capture_on_commit_callbacks
):
    case = _case_with_suggestions(counselor)
    with django_capture_on_commit_callbacks(execute=True):
        r = services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    html = web(counselor).get(reverse("cases:case_detail", args=[case.pk])).content.decode()
    row = html.split('<tr data-service="debt_adjustment"', 1)[1].split("</tr>", 1)[0]
    assert f'data-sent="{r.pk}"' in row and f'href="{reverse("referral:detail", args=[r.pk])}"' in row
    assert "접수 대기" in row
    assert 'name="only"' not in row and 'name="service"' not in row
    others = [s for s in _suggested(html) if s != "debt_adjustment"]
    assert others and all(f'name="only" value="{s}"' in html for s in others)


def test_send_all_creates_one_per_suggestion_and_a_second_submit_creates_nothing(
    counselor, web, django_capture_on_commit_callbacks
):
    case = _case_with_suggestions(counselor)
    c = web(counselor)
    suggested = _suggested(c.get(reverse("cases:case_detail", args=[case.pk])).content.decode())
    assert len(suggested) >= 2
    post = _send_all_post(case, suggested)
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post(reverse("referral:create_many"), post)
    assert resp.status_code == 302 and resp["Location"] == f"/cases/{case.pk}/"
    sent = Referral.objects.filter(case=case)
    assert sorted(sent.values_list("service__code", flat=True)) == sorted(suggested)
    first = sent.get(service__code=suggested[0])
    assert first.priority == "urgent" and first.note == f"메모 {suggested[0]}"
    page = c.get(resp["Location"]).content.decode()
    assert f"의뢰 {len(suggested)}건" in page
    assert 'data-testid="send-all"' not in page  # nothing left to send

    resp = c.post(reverse("referral:create_many"), post)
    assert Referral.objects.filter(case=case).count() == len(suggested)
    assert "아무 의뢰도 보내지 않았습니다" in c.get(resp["Location"]).content.decode()


def test_send_all_sends_none_when_one_row_fails(counselor, web):
    case = _case_with_suggestions(counselor)
    c = web(counselor)
    services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    # A stale page: debt adjustment was sent from another tab meanwhile; the others must not go alone.
    resp = c.post(reverse("referral:create_many"), _send_all_post(case, ["job_placement", "debt_adjustment"]))
    assert list(Referral.objects.filter(case=case).values_list("service__code", flat=True)) == ["debt_adjustment"]
    page = c.get(resp["Location"]).content.decode()
    assert "아무 의뢰도 보내지 않았습니다" in page and "기존 의뢰 열기" in page


def test_one_rows_button_sends_only_that_row(counselor, web, django_capture_on_commit_callbacks):
    case = _case_with_suggestions(counselor)
    post = {**_send_all_post(case, ["job_placement", "debt_adjustment"]), "only": "debt_adjustment"}
    with django_capture_on_commit_callbacks(execute=True):
        resp = web(counselor).post(reverse("referral:create_many"), post)
    assert list(Referral.objects.filter(case=case).values_list("service__code", flat=True)) == ["debt_adjustment"]
    assert "보냈습니다" in web(counselor).get(resp["Location"]).content.decode()


def test_another_centers_case_cannot_be_sent_for(counselor, mf_counselor, web):
    case = _case_with_suggestions(counselor)
    resp = web(mf_counselor).post(reverse("referral:create_many"), _send_all_post(case, ["job_placement"]))
    assert resp.status_code == 302 and Referral.objects.count() == 0


def test_case_page_query_count_does_not_grow_with_referrals(
    counselor, mf_counselor, web, django_assert_num_queries, django_capture_on_commit_callbacks
):
    case = _case_with_suggestions(counselor)
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    c = web(counselor)
    url = reverse("cases:case_detail", args=[case.pk])
    c.get(url)  # warm the session
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        c.get(url)
    first = len(one)  # now: the connection's query log is a bounded deque, and later requests shift it
    with django_capture_on_commit_callbacks(execute=True):
        for code in ("job_placement", "emergency_welfare"):
            services.referral_create(by=counselor, case_id=case.pk, service_code=code)
    c.get(url)  # the referrals reached the counselor's own desks: the header's badge counts them again once
    # The referrals part costs two queries (the joined referrals, their services' outcome names)
    # however many referrals the case has.
    with django_assert_num_queries(first):
        html = c.get(url).content.decode()
    assert html.count("<tr data-referral=") == 3


def test_case_api_get_carries_its_referrals(counselor, mf_counselor, api_for, django_capture_on_commit_callbacks):
    # Monday 21 December 2026, 08:00 in Seoul: the receiving desk has slots that day.
    with time_machine.travel(dt.datetime(2026, 12, 21, 8, 0, tzinfo=SEOUL), tick=False):
        r = walk_to("accepted", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
        api = api_for(counselor)
        body = api.get(f"/api/v1/cases/{r.case_id}/").json()
        assert body["referrals"] == [
            {
                "id": r.pk,
                "service": "debt_adjustment",
                "status": "accepted",
                "to_center": r.to_center.code,
                "to_desk": r.to_desk.code,
                "appointment": None,
                "outcome": "",
            }
        ]
        start = "2026-12-21T10:00:00+09:00"
        booked = api.post(f"/api/v1/referrals/{r.pk}/appointment/", {"start": start}, format="json")
        assert booked.status_code == 200, booked.content
        body = api.get(f"/api/v1/cases/{r.case_id}/").json()
        assert body["referrals"][0]["appointment"] == {
            "start": start,
            "end": "2026-12-21T10:30:00+09:00",
            "desk": r.to_desk.code,
        }


def test_the_referrals_table_follows_the_referral_while_it_is_open_and_stops_once_all_are_closed(
    counselor, mf_counselor, web, django_capture_on_commit_callbacks
):
    from referral.tests.helpers import send

    r = send(counselor, route=False)
    page = web(counselor)
    live_url = reverse("referral:case_referrals", args=[r.case_id])
    html = page.get(reverse("cases:case_detail", args=[r.case_id])).content.decode()
    assert f'hx-get="{live_url}"' in html and 'hx-trigger="every 10s"' in html
    first = page.get(live_url, HTTP_HX_REQUEST="true").content.decode()
    assert "배정 중" in first
    # Routed in the worker, then accepted at the desk: the next poll shows the desk and the status.
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_route(referral_id=r.pk)
    r.refresh_from_db()
    services.referral_accept(referral_id=r.pk, by=mf_counselor)
    polled = page.get(live_url, HTTP_HX_REQUEST="true").content.decode()
    row = polled.split(f'<tr data-referral="{r.pk}"', 1)[1].split("</tr>", 1)[0]
    assert r.to_desk.name in row and "접수" in row
    assert "<html" not in polled  # the table alone
    # Closed: the table stops asking.
    services.referral_cancel(referral_id=r.pk, by=counselor, reason="client_request")
    assert "hx-trigger" not in page.get(live_url, HTTP_HX_REQUEST="true").content.decode()
    # Another center's counselor finds no such case; the ministry has no access.
    assert web(mf_counselor).get(live_url).status_code == 404
