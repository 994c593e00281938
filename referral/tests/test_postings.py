"""Job postings offered on a job placement referral: risky ones need a reason, each side sees the risks."""

from __future__ import annotations

import re
from typing import Any

import pytest

from centers.models import Desk
from jobs import services as job_services
from jobs.models import JobPosting, RiskLevel
from jobs.tests.factories import OTHER_BIZNO, make_flagged_posting, make_posting
from referral import services
from referral.models import EventKind, Referral, ReferralPosting
from referral.tests.helpers import send

pytestmark = pytest.mark.django_db
URL = "/api/v1/referrals/"


@pytest.fixture
def placement(mf_counselor: Any, counselor: Any, django_capture_on_commit_callbacks: Any) -> Referral:
    """A job placement referral from MF-SEOUL-GWANAK received by EW-SEOUL-GWANAK's employment desk."""
    # The MF center's own outreach employment desk would take it (co-located): close it for this test.
    Desk.objects.filter(code="MF-SEOUL-GWANAK-EMP-OUT").update(active=False)
    r = send(mf_counselor, "job_placement", capture=django_capture_on_commit_callbacks)
    assert r.to_desk is not None and r.to_desk.code == "EW-SEOUL-GWANAK-EMP"
    return r


@pytest.fixture
def low(admin_user_staff: Any) -> JobPosting:
    p = make_posting(admin_user_staff)
    assert p.employer is not None
    assert p.risk_level == RiskLevel.LOW and not p.employer.suspect
    return p


@pytest.fixture
def high(admin_user_staff: Any) -> JobPosting:
    p = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="(주)수상한일자리")
    assert p.risk_level == RiskLevel.HIGH
    return p


@pytest.fixture
def suspect_low(admin_user_staff: Any) -> JobPosting:
    """A posting screened low whose employer a reviewer put on the suspect list."""
    p = make_posting(admin_user_staff, title="사무 보조", business_number="1018100340", employer_name="(주)의심사업장")
    assert p.employer_id is not None
    job_services.employer_set_suspect(employer_id=p.employer_id, by=admin_user_staff, suspect=True, reason="허위 광고")
    return p


def test_offering_a_risky_posting_without_a_reason_is_409_listing_why_and_saves_nothing(
    placement, counselor, api_for, high, suspect_low, low
):
    resp = api_for(counselor).post(
        f"{URL}{placement.pk}/postings/", {"postings": [low.pk, high.pk, suspect_low.pk]}, format="json"
    )
    assert resp.status_code == 409, resp.content
    body = resp.json()
    assert body["code"] == "risky_posting"
    why = {p["id"]: p["why"] for p in body["postings"]}
    assert why == {high.pk: ["risk_high"], suspect_low.pk: ["suspect_employer"]}
    assert not ReferralPosting.objects.exists()
    assert not placement.events.filter(kind=EventKind.OFFER).exists()


def test_with_a_reason_the_offer_is_stored_and_the_reason_is_on_the_event(placement, counselor, api_for, high, low):
    resp = api_for(counselor).post(
        f"{URL}{placement.pk}/postings/",
        {"postings": [low.pk, high.pk], "reason": "본인이 강하게 희망, 계약 전 동행 확인"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    got = {p["id"]: p for p in resp.json()["postings"]}
    assert got[high.pk]["risk_level"] == "high" and got[low.pk]["risk_level"] == "low"
    assert got[high.pk]["employer"] == "(주)수상한일자리" and got[high.pk]["title"] == high.title
    assert got[low.pk]["suspect"] is False
    event = placement.events.get(kind=EventKind.OFFER)
    assert event.note == "본인이 강하게 희망, 계약 전 동행 확인"
    assert {p["id"]: p["risk_level"] for p in event.data["postings"]} == {low.pk: "low", high.pk: "high"}
    assert [r["id"] for r in event.data["risky"]] == [high.pk]
    warned = dict(ReferralPosting.objects.values_list("posting_id", "warning_reason"))
    assert warned == {low.pk: "", high.pk: "본인이 강하게 희망, 계약 전 동행 확인"}
    # The referral's GET answer (either side) carries them too.
    sent = api_for(placement.created_by).get(f"{URL}{placement.pk}/").json()
    assert {p["id"] for p in sent["postings"]} == {low.pk, high.pk}


def test_a_low_risk_posting_needs_no_reason_and_offering_it_twice_adds_nothing(placement, mf_counselor, low):
    services.referral_offer_postings(by=mf_counselor, referral_id=placement.pk, posting_ids=[low.pk])
    services.referral_offer_postings(by=mf_counselor, referral_id=placement.pk, posting_ids=[low.pk])
    assert ReferralPosting.objects.filter(referral=placement).count() == 1
    assert placement.events.filter(kind=EventKind.OFFER).count() == 1


def test_another_center_gets_404_and_nothing_is_offered(placement, make_staff, api_for, low):
    busan = make_staff("counselor", "EW-BUSAN-SAHA", username="busan")
    resp = api_for(busan).post(f"{URL}{placement.pk}/postings/", {"postings": [low.pk]}, format="json")
    assert resp.status_code == 404
    assert not ReferralPosting.objects.exists()


def test_only_job_placement_referrals_carry_postings(
    counselor, mf_counselor, api_for, low, django_capture_on_commit_callbacks
):
    r = send(counselor, capture=django_capture_on_commit_callbacks)  # debt adjustment
    resp = api_for(mf_counselor).post(f"{URL}{r.pk}/postings/", {"postings": [low.pk]}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "not_job_placement"


def test_a_closed_referral_takes_no_more_postings(placement, counselor, api_for, low):
    services.referral_accept(referral_id=placement.pk, by=counselor)
    services.referral_fail(referral_id=placement.pk, by=counselor, reason="no_show")
    resp = api_for(counselor).post(f"{URL}{placement.pk}/postings/", {"postings": [low.pk]}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "invalid_transition"


def test_an_unknown_posting_is_a_400(placement, counselor, api_for):
    resp = api_for(counselor).post(f"{URL}{placement.pk}/postings/", {"postings": [10**9]}, format="json")
    assert resp.status_code == 400 and "postings" in resp.json()


def test_the_receiving_desk_sees_each_offered_postings_risk_and_the_suspect_mark(
    placement, counselor, mf_counselor, client, high, suspect_low, low
):
    services.referral_offer_postings(
        by=mf_counselor, referral_id=placement.pk, posting_ids=[low.pk, high.pk, suspect_low.pk], reason="본인 희망"
    )
    client.force_login(counselor)  # the receiving desk (EW-SEOUL-GWANAK)
    page = client.get(f"/referrals/{placement.pk}/").content.decode()
    rows = {int(m[0]): m[1] for m in re.findall(r'<tr data-posting="(\d+)" data-risk="\w+">(.*?)</tr>', page, re.S)}
    assert set(rows) == {low.pk, high.pk, suspect_low.pk}
    assert "높음" in rows[high.pk] and "낮음" in rows[low.pk]
    assert 'data-testid="suspect-mark"' in rows[suspect_low.pk]
    assert 'data-testid="suspect-mark"' not in rows[low.pk] and 'data-testid="suspect-mark"' not in rows[high.pk]
    assert f'href="/jobs/{high.pk}/"' in rows[high.pk]
    assert "본인 희망" in rows[high.pk]


def test_the_page_form_offers_a_picked_low_risk_posting_and_refuses_a_risky_one_without_reason(
    placement, counselor, client, high, low
):
    client.force_login(counselor)
    page = client.get(f"/referrals/{placement.pk}/").content.decode()
    assert f'name="postings" value="{low.pk}"' in page and f'name="postings" value="{high.pk}"' not in page
    resp = client.post(f"/referrals/{placement.pk}/postings/", {"posting_ids": str(high.pk)}, follow=True)
    assert "사유" in resp.content.decode() and not ReferralPosting.objects.exists()
    client.post(f"/referrals/{placement.pk}/postings/", {"postings": [str(low.pk)]})
    assert list(ReferralPosting.objects.values_list("posting_id", flat=True)) == [low.pk]


def test_another_centers_page_and_form_are_404(placement, make_staff, client, low):
    client.force_login(make_staff("counselor", "EW-BUSAN-SAHA", username="busan"))
    assert client.get(f"/referrals/{placement.pk}/").status_code == 404
    assert client.post(f"/referrals/{placement.pk}/postings/", {"postings": [str(low.pk)]}).status_code == 404
    assert not ReferralPosting.objects.exists()


def _to_in_progress(r: Referral, receiver: Any) -> None:
    services.referral_accept(referral_id=r.pk, by=receiver)
    services.referral_start(referral_id=r.pk, by=receiver)


def test_a_placement_at_a_suspect_employer_is_409_without_a_reason_and_stays_open(
    placement, counselor, api_for, suspect_low
):
    _to_in_progress(placement, counselor)
    resp = api_for(counselor).post(
        f"{URL}{placement.pk}/complete/", {"outcome": "hired", "employer_posting": suspect_low.pk}, format="json"
    )
    assert resp.status_code == 409, resp.content
    assert resp.json()["code"] == "suspect_employer"
    placement.refresh_from_db()
    assert placement.status == "in_progress"


def test_a_placement_at_a_suspect_employer_with_a_reason_is_stored_on_the_completion_event(
    placement, counselor, api_for, suspect_low, low
):
    _to_in_progress(placement, counselor)
    resp = api_for(counselor).post(
        f"{URL}{placement.pk}/complete/",
        {"outcome": "hired", "employer_posting": suspect_low.pk, "warning_reason": "근로계약서 확인, 사후 점검 예정"},
        format="json",
    )
    assert resp.status_code == 200, resp.content
    assert resp.json()["status"] == "completed"
    placed = placement.events.get(kind=EventKind.COMPLETE).data["placement"]
    assert placed == {
        "posting": suspect_low.pk,
        "employer": suspect_low.employer_id,
        "employer_suspect": True,
        "risk_level": "low",
        "warning_reason": "근로계약서 확인, 사후 점검 예정",
    }


def test_a_placement_at_an_ordinary_employer_or_an_unachieved_outcome_needs_no_reason(
    placement, counselor, suspect_low, low, mf_counselor, django_capture_on_commit_callbacks
):
    _to_in_progress(placement, counselor)
    services.referral_complete(referral_id=placement.pk, by=counselor, outcome="hired", employer_posting=low.pk)
    assert placement.events.get(kind=EventKind.COMPLETE).data["placement"]["employer_suspect"] is False
    # An interview at a suspect employer is not a placement there: no reason asked.
    Desk.objects.filter(code="MF-SEOUL-GWANAK-EMP-OUT").update(active=False)
    other = send(mf_counselor, "job_placement", capture=django_capture_on_commit_callbacks)
    _to_in_progress(other, counselor)
    done = services.referral_complete(
        referral_id=other.pk, by=counselor, outcome="interview_arranged", employer_posting=suspect_low.pk
    )
    assert done.status == "completed"


def test_the_complete_form_offers_the_offered_postings_as_placement(placement, counselor, client, suspect_low):
    services.referral_offer_postings(
        by=counselor, referral_id=placement.pk, posting_ids=[suspect_low.pk], reason="본인 희망"
    )
    _to_in_progress(placement, counselor)
    client.force_login(counselor)
    page = client.get(f"/referrals/{placement.pk}/").content.decode()
    assert f'<option value="{suspect_low.pk}">' in page and 'name="warning_reason"' in page
    client.post(f"/referrals/{placement.pk}/complete/", {"outcome": "hired", "employer_posting": str(suspect_low.pk)})
    placement.refresh_from_db()
    assert placement.status == "in_progress"
    client.post(
        f"/referrals/{placement.pk}/complete/",
        {"outcome": "hired", "employer_posting": str(suspect_low.pk), "warning_reason": "동행 면접 확인"},
    )
    placement.refresh_from_db()
    assert placement.status == "completed"


def test_the_monthly_statistics_count_placements_by_the_employers_status(
    placement, counselor, manager, api_for, suspect_low, low, mf_counselor, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from stats.definitions import month_of
    from stats.services import stats_refresh_month

    _to_in_progress(placement, counselor)
    services.referral_complete(
        referral_id=placement.pk, by=counselor, outcome="hired", employer_posting=suspect_low.pk, warning_reason="확인"
    )
    other = send(mf_counselor, "job_placement", capture=django_capture_on_commit_callbacks)
    _to_in_progress(other, counselor)
    services.referral_complete(referral_id=other.pk, by=counselor, outcome="hired", employer_posting=low.pk)
    # A placement with no posting named is counted as achieved, but under no employer status.
    third = send(mf_counselor, "job_placement", capture=django_capture_on_commit_callbacks)
    _to_in_progress(third, counselor)
    services.referral_complete(referral_id=third.pk, by=counselor, outcome="hired")
    month = month_of(timezone.now())
    stats_refresh_month(month=month)
    # The receiving center's manager reads its own figures unsuppressed.
    resp = api_for(manager).get("/api/v1/stats/monthly/", {"from": f"{month:%Y-%m}", "to": f"{month:%Y-%m}"})
    assert resp.status_code == 200, resp.content
    rows = resp.json()["results"]
    assert len(rows) == 1
    assert rows[0]["achieved"] == 3
    assert rows[0]["placements_by_employer_status"] == {"clear": 1, "suspect": 1}
