import datetime as dt

import pytest
from django.utils import translation

from cases.suggestions import Facts, debt_tier, suggest

TODAY = dt.date(2026, 3, 2)


def services_of(facts: Facts) -> dict[str, str]:
    return {s.service: s.rule for s in suggest(facts, today=TODAY)}


@pytest.mark.parametrize(
    ("days", "tier", "name"),
    [
        (1, "fast_track", "신속채무조정"),
        (30, "fast_track", "신속채무조정"),
        (31, "pre_workout", "프리워크아웃"),
        (89, "pre_workout", "프리워크아웃"),
        (90, "individual_workout", "개인워크아웃"),
        (400, "individual_workout", "개인워크아웃"),
    ],
)
def test_arrears_suggest_debt_adjustment_with_the_tier_by_days(days, tier, name):
    assert debt_tier(days) == (tier, name)
    (s,) = [s for s in suggest(Facts(debt_status="arrears", arrears_days=days), today=TODAY)]
    assert (s.service, s.rule, s.tier) == ("debt_adjustment", f"arrears_{tier}", tier)
    assert name in s.reason and str(days) in s.reason


def test_arrears_without_days_still_suggests_debt_adjustment():
    assert services_of(Facts(debt_status="arrears")) == {"debt_adjustment": "arrears"}


@pytest.mark.parametrize("status", ["unemployed", "irregular"])
def test_unemployed_or_irregular_work_suggests_employment_support(status):
    assert services_of(Facts(employment_status=status, income_band="above_100")) == {
        "job_placement": "unstable_employment"
    }


def test_no_income_suggests_employment_support_and_welfare():
    got = services_of(Facts(income_band="none", employment_status="not_in_labor_force"))
    assert got["job_placement"] == "no_income"
    assert got["basic_livelihood"] == "low_income"


def test_low_income_suggests_basic_livelihood():
    assert services_of(Facts(income_band="below_50")) == {"basic_livelihood": "low_income"}
    assert "basic_livelihood" not in services_of(Facts(income_band="below_100"))


def test_no_income_and_job_loss_suggests_emergency_welfare():
    assert services_of(Facts(income_band="none", employment_status="unemployed"))["emergency_welfare"] == (
        "income_crisis"
    )


@pytest.mark.parametrize(
    ("birth", "band", "eligible"),
    [
        (dt.date(1990, 5, 1), "below_60", True),
        (dt.date(1990, 5, 1), "below_100", False),
        (dt.date(2011, 3, 2), "below_60", True),  # 15 today
        (dt.date(2011, 3, 3), "below_60", False),  # 15 tomorrow
        (dt.date(1956, 3, 3), "below_50", True),  # 69
        (dt.date(1956, 3, 2), "below_50", False),  # 70 today
    ],
)
def test_kesp_eligibility_by_age_15_to_69_and_income_at_most_60_percent(birth, band, eligible):
    got = services_of(Facts(birth_date=birth, income_band=band))
    assert ("kesp" in got) is eligible
    if eligible:
        assert got["kesp"] == "kesp_type1"


def test_policy_microfinance_user_with_irregular_income_is_told_about_employment_support():
    got = suggest(
        Facts(employment_status="irregular", income_band="above_100", need_codes=frozenset({"policy_loan"})),
        today=TODAY,
    )
    job = next(s for s in got if s.service == "job_placement")
    assert job.rule == "unstable_employment"
    assert any("서민금융" in r or "microfinance" in r for r in job.other_reasons)


def test_recorded_needs_suggest_their_service():
    got = services_of(Facts(need_codes=frozenset({"job_training", "bankruptcy"})))
    assert got == {"vocational_training": "need_job_training", "rehab_bankruptcy": "need_bankruptcy"}


def test_no_facts_no_suggestions():
    assert suggest(Facts(), today=TODAY) == []


def test_one_suggestion_per_service_with_the_other_rules_listed():
    got = suggest(Facts(income_band="none", employment_status="unemployed"), today=TODAY)
    services = [s.service for s in got]
    assert len(services) == len(set(services))
    job = next(s for s in got if s.service == "job_placement")
    assert job.rule == "unstable_employment" and len(job.other_reasons) == 1


def test_reasons_read_in_korean():
    with translation.override("ko"):
        (s,) = suggest(Facts(employment_status="unemployed", income_band="above_100"), today=TODAY)
    assert "고용" in s.reason or "취업" in s.reason
