"""Referral suggestions from a client's facts and the published routing rules (shared/data/README.md).

A pure function: facts in, suggestions out, no database. Each suggestion names the service code
and the rule that fired, with a sentence a counselor can read to the client.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from cases.models import DebtStatus, EmploymentStatus, IncomeBand
from cases.needs import MICROFINANCE_NEEDS, NEEDS_BY_CODE
from cases.validation import age_on

# Income bands at or under 60% of the median income (국민취업지원제도 I유형), and the low-income bands
# that point to welfare (기초생활보장 covers up to 50% of the median, 교육급여 included).
KESP_INCOME_BANDS = frozenset({IncomeBand.NONE, IncomeBand.BELOW_50, IncomeBand.BELOW_60})
LOW_INCOME_BANDS = frozenset({IncomeBand.NONE, IncomeBand.BELOW_50})
UNSTABLE_WORK = frozenset({EmploymentStatus.UNEMPLOYED, EmploymentStatus.IRREGULAR})
KESP_MIN_AGE, KESP_MAX_AGE = 15, 69
FAST_TRACK_MAX_DAYS, PRE_WORKOUT_MAX_DAYS = 30, 89


@dataclass(frozen=True)
class Facts:
    birth_date: dt.date | None = None
    income_band: str = IncomeBand.UNKNOWN
    employment_status: str = EmploymentStatus.UNKNOWN
    debt_status: str = DebtStatus.UNKNOWN
    arrears_days: int | None = None
    need_codes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Suggestion:
    service: str  # centers.Service.code
    rule: str  # a stable code of the rule that fired
    reason: str  # the rule in words, for the counselor
    tier: str = ""  # debt adjustment tier (fast_track, pre_workout, individual_workout)
    other_reasons: tuple[str, ...] = field(default=())


def debt_tier(arrears_days: int | None) -> tuple[str, str] | None:
    """The debt adjustment tier for the days in arrears: (code, Korean programme name)."""
    if arrears_days is None:
        return None
    if arrears_days <= FAST_TRACK_MAX_DAYS:
        return "fast_track", "신속채무조정"
    if arrears_days <= PRE_WORKOUT_MAX_DAYS:
        return "pre_workout", "프리워크아웃"
    return "individual_workout", "개인워크아웃"


def facts_for(client: object, need_codes: Iterable[str] = ()) -> Facts:
    return Facts(
        birth_date=getattr(client, "birth_date", None),
        income_band=getattr(client, "income_band", IncomeBand.UNKNOWN),
        employment_status=getattr(client, "employment_status", EmploymentStatus.UNKNOWN),
        debt_status=getattr(client, "debt_status", DebtStatus.UNKNOWN),
        arrears_days=getattr(client, "arrears_days", None),
        need_codes=frozenset(need_codes),
    )


def suggest(facts: Facts, *, today: dt.date) -> list[Suggestion]:
    """Every rule that fires, one suggestion per service (the first rule leads, the others follow)."""
    fired: list[tuple[str, str, str, str]] = []  # (service, rule, reason, tier)

    in_arrears = facts.debt_status == DebtStatus.ARREARS or bool(facts.arrears_days)
    if in_arrears:
        tier = debt_tier(facts.arrears_days)
        if tier is None:
            fired.append(
                (
                    "debt_adjustment",
                    "arrears",
                    _("In arrears → debt adjustment (ask the days in arrears to pick the tier)"),
                    "",
                )
            )
        else:
            fired.append(
                (
                    "debt_adjustment",
                    f"arrears_{tier[0]}",
                    _("%(days)d days in arrears → debt adjustment: %(tier)s")
                    % {"days": facts.arrears_days, "tier": tier[1]},
                    tier[0],
                )
            )

    no_income = facts.income_band == IncomeBand.NONE
    if facts.employment_status in UNSTABLE_WORK:
        label = (
            _("unemployed")
            if facts.employment_status == EmploymentStatus.UNEMPLOYED
            else _("irregular or unstable work")
        )
        fired.append(
            (
                "job_placement",
                "unstable_employment",
                _("Unemployed or unstably employed (%(status)s) → employment support") % {"status": label},
                "",
            )
        )
    if no_income:
        fired.append(("job_placement", "no_income", _("No income → employment support"), ""))

    uses_microfinance = bool(facts.need_codes & MICROFINANCE_NEEDS) or in_arrears
    if uses_microfinance and (no_income or facts.employment_status == EmploymentStatus.IRREGULAR):
        fired.append(
            (
                "job_placement",
                "microfinance_no_income",
                _("Policy microfinance or debt adjustment user with no or irregular income → employment support"),
                "",
            )
        )

    if facts.income_band in LOW_INCOME_BANDS:
        fired.append(
            (
                "basic_livelihood",
                "low_income",
                # xgettext:no-python-format
                _("Low income (at most 50% of the median) → welfare: basic livelihood security"),
                "",
            )
        )
    if no_income and (in_arrears or facts.employment_status == EmploymentStatus.UNEMPLOYED):
        fired.append(
            (
                "emergency_welfare",
                "income_crisis",
                _("No income and lost work or in arrears → welfare: emergency welfare support"),
                "",
            )
        )

    if facts.birth_date is not None and facts.income_band in KESP_INCOME_BANDS:
        age = age_on(facts.birth_date, today)
        if KESP_MIN_AGE <= age <= KESP_MAX_AGE:
            fired.append(
                (
                    "kesp",
                    "kesp_type1",
                    _(
                        "Age %(age)d (15–69) and household income at most 60%% of the median → "
                        "National Employment Support Program type I (check assets and work history)"
                    )
                    % {"age": age},
                    "",
                )
            )

    for code in sorted(facts.need_codes):
        need = NEEDS_BY_CODE.get(code)
        if need is not None:
            fired.append((need.service, f"need_{code}", _("Need recorded: %(need)s") % {"need": str(need.label)}, ""))

    by_service: dict[str, Suggestion] = {}
    for service, rule, reason, tier_code in fired:
        current = by_service.get(service)
        if current is None:
            by_service[service] = Suggestion(service=service, rule=rule, reason=reason, tier=tier_code)
        else:
            by_service[service] = Suggestion(
                service=current.service,
                rule=current.rule,
                reason=current.reason,
                tier=current.tier,
                other_reasons=(*current.other_reasons, reason),
            )
    return list(by_service.values())


def suggest_for_case(case: object, *, today: dt.date) -> list[Suggestion]:
    """Suggestions for a case: its client's facts and the needs recorded on it (prefetched)."""
    needs = [n.code for n in case.needs.all()]  # type: ignore[attr-defined]
    return suggest(facts_for(case.client, needs), today=today)  # type: ignore[attr-defined]
