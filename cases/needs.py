"""The catalog of need codes recorded at intake, per domain, and the service each one points to."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from centers.models import Domain


@dataclass(frozen=True)
class NeedCode:
    code: str
    domain: str
    label: Promise
    # The catalog service this need is usually met by (centers.Service.code).
    service: str


NEEDS: tuple[NeedCode, ...] = (
    NeedCode("job_search", Domain.EMPLOYMENT, _("Find a job"), "job_placement"),
    NeedCode("job_seeker_income", Domain.EMPLOYMENT, _("Income support while looking for work"), "kesp"),
    NeedCode("job_training", Domain.EMPLOYMENT, _("Vocational training"), "vocational_training"),
    NeedCode("unemployment_benefit", Domain.EMPLOYMENT, _("Unemployment benefit"), "unemployment_benefit"),
    NeedCode("livelihood", Domain.WELFARE, _("Living costs"), "basic_livelihood"),
    NeedCode("crisis", Domain.WELFARE, _("Sudden crisis (job loss, illness, eviction)"), "emergency_welfare"),
    NeedCode("housing", Domain.WELFARE, _("Housing"), "basic_livelihood"),
    NeedCode("medical", Domain.WELFARE, _("Medical costs"), "basic_livelihood"),
    NeedCode("self_sufficiency_work", Domain.WELFARE, _("Self-sufficiency work"), "self_sufficiency"),
    NeedCode("policy_loan", Domain.FINANCE, _("Policy microfinance loan"), "policy_microloan"),
    NeedCode("debt_adjustment", Domain.FINANCE, _("Debt adjustment"), "debt_adjustment"),
    NeedCode("credit_counseling", Domain.FINANCE, _("Credit and debt counseling"), "credit_counseling"),
    NeedCode("bankruptcy", Domain.FINANCE, _("Personal rehabilitation or bankruptcy"), "rehab_bankruptcy"),
)

NEEDS_BY_CODE: dict[str, NeedCode] = {n.code: n for n in NEEDS}

# Needs that mean the client uses (or is applying for) policy microfinance or debt adjustment.
MICROFINANCE_NEEDS = frozenset({"policy_loan", "debt_adjustment"})


def needs_by_domain() -> list[tuple[str, str, list[NeedCode]]]:
    """[(domain, domain label, [needs])] in the catalog's order, for forms."""
    return [(value, str(label), [n for n in NEEDS if n.domain == value]) for value, label in Domain.choices]


def need_label(code: str) -> str:
    need = NEEDS_BY_CODE.get(code)
    return str(need.label) if need else code
