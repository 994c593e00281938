from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from core.errors import InvalidInput, PermissionDenied
from jobs import bizno, selectors, services
from jobs.models import Employer, JobPosting, Source, SuspectStatusChange
from jobs.tests.factories import OTHER_BIZNO, VALID_BIZNO, make_flagged_posting, make_posting, posting_input

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("number", ["220-81-62517", "124-81-00998", "2208162517"])
def test_real_business_numbers_pass_the_check_digit(number):
    assert bizno.is_valid(number)


@pytest.mark.parametrize("number", ["220-81-62518", "123-45-67890", "22081625", "22O8162517", "２２０８１６２５１７"])
def test_wrong_or_malformed_business_numbers_fail(number):
    assert not bizno.is_valid(number)


def test_a_manual_posting_is_screened_and_linked_to_its_employer(admin_user_staff):
    posting = make_posting(admin_user_staff)
    assert posting.risk_level == "low" and posting.findings == []
    assert posting.employer is not None and posting.employer.business_number == VALID_BIZNO
    assert posting.hourly_equivalent == 11005  # 2,300,000 / 209 h
    again = make_posting(admin_user_staff, title="다른 공고", business_number="220-81-62517")
    assert again.employer_id == posting.employer_id


def test_a_flagged_posting_quotes_what_triggered_each_finding(admin_user_staff):
    posting = make_flagged_posting(admin_user_staff)
    assert posting.risk_level == "high"
    rules = {f["rule"] for f in posting.findings}
    assert {"identity_harvest", "money_demand", "too_good_to_be_true"} <= rules
    for f in posting.findings:
        if f["field"] == "content":
            assert posting.content[f["start"] : f["end"]] == f["quote"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"business_number": "220-81-62518"}, "business_number"),
        ({"wage": 0}, "wage"),
        ({"wage": 900_000_000, "wage_type": "hourly"}, "wage"),
        ({"content": "가" * 20_001}, "content"),
        ({"title": "  "}, "title"),
        ({"wage_type": "weekly"}, "wage_type"),
    ],
)
def test_invalid_postings_are_refused_with_the_field_named(admin_user_staff, overrides, field):
    with pytest.raises(InvalidInput) as exc:
        make_posting(admin_user_staff, **overrides)
    assert exc.value.field == field
    assert JobPosting.objects.count() == 0


def test_only_the_administrator_writes_postings(counselor, ministry_user):
    for user in (counselor, ministry_user):
        with pytest.raises(PermissionDenied):
            services.posting_create(by=user, data=posting_input())


def test_upsert_by_wanted_auth_no_updates_instead_of_duplicating(admin_user_staff):
    first = services.posting_upsert(data=posting_input(external_id="K151612603300001"), source=Source.WORK24)
    second = services.posting_upsert(
        data=posting_input(external_id="K151612603300001", title="제목 수정됨"), source=Source.WORK24
    )
    assert first.created and not second.created
    assert JobPosting.objects.get().title == "제목 수정됨"
    # The same key from another source is another posting.
    services.posting_upsert(data=posting_input(external_id="K151612603300001"), source=Source.UPLOAD)
    assert JobPosting.objects.count() == 2


def test_a_false_ad_decision_makes_the_employer_a_suspect_with_its_evidence(admin_user_staff, ministry_user):
    posting = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    services.posting_review(posting_id=posting.pk, by=ministry_user, decision="false_ad", reason="통장 요구 확인")
    employer = Employer.objects.get(business_number=OTHER_BIZNO)
    assert employer.suspect and employer.suspect_since is not None
    change = SuspectStatusChange.objects.get(employer=employer)
    assert change.suspect and change.reason == "통장 요구 확인"
    assert {"rule": "identity_harvest"}.items() <= change.evidence["findings"][0].items() or any(
        f["rule"] == "identity_harvest" for f in change.evidence["findings"]
    )
    # Clearing the only flagged posting takes the employer off the list, with a second history row.
    services.posting_review(posting_id=posting.pk, by=ministry_user, decision="cleared", reason="재심사 결과 정상")
    employer.refresh_from_db()
    assert not employer.suspect
    assert list(SuspectStatusChange.objects.filter(employer=employer).values_list("suspect", flat=True)) == [
        True,
        False,
    ]


def test_center_staff_cannot_review_and_reviewers_cannot_report(admin_user_staff, counselor, ministry_user):
    posting = make_flagged_posting(admin_user_staff)
    with pytest.raises(PermissionDenied):
        services.posting_review(posting_id=posting.pk, by=counselor, decision="false_ad", reason="x")
    with pytest.raises(PermissionDenied):
        services.posting_report(posting_id=posting.pk, by=ministry_user, reason="x")
    report = services.posting_report(
        posting_id=posting.pk, by=counselor, reason="수수료 요구", complaint="교육비를 요구함"
    )
    assert report.center.code == "EW-SEOUL-GWANAK"


def test_reports_are_seen_by_reviewers_and_the_reporting_center_only(
    admin_user_staff, counselor, mf_counselor, ministry_user
):
    posting = make_flagged_posting(admin_user_staff)
    services.posting_report(posting_id=posting.pk, by=counselor, reason="관악 신고")
    assert [r.reason for r in selectors.reports_for(ministry_user, posting)] == ["관악 신고"]
    assert [r.reason for r in selectors.reports_for(counselor, posting)] == ["관악 신고"]
    assert list(selectors.reports_for(mf_counselor, posting)) == []


def test_raw_payloads_are_purged_after_the_configured_days(admin_user_staff, settings):
    settings.JOBS_RAW_PAYLOAD_DAYS = 3
    kept = services.posting_upsert(
        data=posting_input(external_id="K1", raw_payload="<wanted>…</wanted>"), source=Source.WORK24
    ).posting
    assert kept.raw_payload
    assert services.postings_purge_raw_payloads(now=timezone.now() + dt.timedelta(days=2)) == 0
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, minutes=1)):
        assert services.postings_purge_raw_payloads() == 1
    kept.refresh_from_db()
    assert kept.raw_payload == "" and kept.title  # the posting itself stays


def test_employer_risk_for_postings_answers_risk_and_suspect_per_posting(admin_user_staff, ministry_user):
    ok = make_posting(admin_user_staff)
    bad = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    services.posting_review(posting_id=bad.pk, by=ministry_user, decision="harmful", reason="확인")
    risk = selectors.employer_risk_for_postings([ok.pk, bad.pk, 999_999])
    assert set(risk) == {ok.pk, bad.pk}
    assert risk[ok.pk]["flagged"] is False and risk[ok.pk]["suspect"] is False
    assert risk[bad.pk]["flagged"] is True and risk[bad.pk]["suspect"] is True
    assert risk[bad.pk]["decision"] == "harmful"


def test_posting_list_filters_keep_matches_and_drop_the_rest(admin_user_staff, ministry_user):
    ok = make_posting(admin_user_staff)
    bad = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    services.posting_review(posting_id=bad.pk, by=ministry_user, decision="false_ad", reason="확인")
    f = selectors.PostingFilters
    assert [p.pk for p in selectors.posting_list(ministry_user, f(risk="high"))] == [bad.pk]
    assert [p.pk for p in selectors.posting_list(ministry_user, f(risk="low"))] == [ok.pk]
    assert [p.pk for p in selectors.posting_list(ministry_user, f(review="pending"))] == [ok.pk]
    assert [p.pk for p in selectors.posting_list(ministry_user, f(review="decided"))] == [bad.pk]
    assert [p.pk for p in selectors.posting_list(ministry_user, f(employer="124-81-00998"))] == [bad.pk]


def test_minimum_wage_follows_the_postings_year(admin_user_staff):
    # 10,100 won/h: above 2025's 10,030, below 2026's 10,320.
    with time_machine.travel(dt.datetime(2026, 1, 5, tzinfo=dt.UTC)):
        old = make_posting(admin_user_staff, wage_type="hourly", wage=10_100, posted_on=dt.date(2025, 11, 2))
        new = make_posting(admin_user_staff, wage_type="hourly", wage=10_100, posted_on=dt.date(2026, 1, 2))
    assert old.risk_level == "low"
    assert new.risk_level == "high" and new.findings[0]["rule"] == "below_minimum_wage"
    assert "2026년 최저임금 시간당 10,320원" in new.findings[0]["basis"]
