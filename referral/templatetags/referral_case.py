"""The referral part of the case page: the case app's template shows it without importing this app."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from cases.models import Case, ConsentPurpose
from cases.suggestions import suggest_for_case
from centers.models import Service
from centers.selectors import actor_for
from referral import selectors
from referral.lifecycle import may_book, status_label
from referral.models import (
    OPEN_STATUSES,
    CancelReason,
    DeclineReason,
    FailReason,
    Priority,
    Referral,
    RejectReason,
    Status,
)

register = template.Library()

_REASON_LABELS: dict[str, dict[str, Any]] = {
    Status.FAILED: dict(FailReason.choices),
    Status.CANCELLED: dict(CancelReason.choices),
    Status.REJECTED: {**dict(DeclineReason.choices), **dict(RejectReason.choices)},
}


def outcome_label(referral: Referral) -> str:
    """How a closed referral ended: the service's outcome name, or the coded reason in words."""
    if referral.outcome:
        names = {o.code: o.name for o in referral.service.outcomes.all()}
        return names.get(referral.outcome, referral.outcome)
    if referral.reason:
        return str(_REASON_LABELS.get(referral.status, {}).get(referral.reason, referral.reason))
    return ""


def case_referral_rows(user: Any, case: Case) -> list[Any]:
    """The case's referrals as its page shows them (label, outcome, appointment, whether it can be booked):
    one joined query and one for the outcome names, however many referrals the case has."""
    referrals: list[Any] = list(
        selectors.referrals_visible_to(user)
        .filter(case_id=case.pk)
        .select_related("service", "to_center", "to_desk", "assigned_to")
        .prefetch_related("service__outcomes", selectors.active_appointments_prefetch())
        .order_by("-created_at", "-pk")
    )
    actor = actor_for(user)
    for r in referrals:
        r.label = status_label(r.status, r.to_desk_id is not None)
        r.outcome_label = outcome_label(r)
        r.appointment = r.active_appointments[0] if r.active_appointments else None
        r.can_book = may_book(
            actor,
            status=r.status,
            routed=r.to_desk_id is not None,
            from_center_id=r.from_center_id,
            to_center_id=r.to_center_id,
        )
    return referrals


def any_open(referrals: list[Any]) -> bool:
    """Whether the table is worth re-reading: something can still change (the polling stops once all closed)."""
    return any(r.status in OPEN_STATUSES for r in referrals)


@register.inclusion_tag("referral/_case_referrals.html", takes_context=True)
def case_referrals(context: dict[str, Any], case: Case) -> dict[str, Any]:
    now = timezone.now()
    request = context.get("request")
    suggestions = suggest_for_case(case, today=timezone.localdate())
    names = dict(Service.objects.filter(code__in=[s.service for s in suggestions]).values_list("code", "name"))
    consents = [c for c in case.client.consents.all() if c.purpose == ConsentPurpose.REFERRAL and c.is_valid_at(now)]
    referrals = case_referral_rows(request.user, case) if request is not None else []
    open_by_service: dict[str, Referral] = {}
    for r in referrals:
        if r.status in OPEN_STATUSES:
            open_by_service.setdefault(r.service.code, r)
    rows = [(s, names.get(s.service, s.service), open_by_service.get(s.service)) for s in suggestions]
    return {
        "case": case,
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "suggestions": rows,
        "unsent": [row for row in rows if row[2] is None],
        "referrals": referrals,
        "live": any_open(referrals),
        "referral_consents": consents,
        "priorities": Priority.choices,
    }
