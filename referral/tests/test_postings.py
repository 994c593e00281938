"""Job postings offered on a job placement referral: risky ones need a reason, each side sees the risks."""

from __future__ import annotations

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
