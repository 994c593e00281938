"""The referral part of the case page: the case app's template shows it without importing this app."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from cases.models import Case, ConsentPurpose
from cases.suggestions import suggest_for_case
from centers.models import Service
from referral.models import Priority

register = template.Library()


@register.inclusion_tag("referral/_case_referrals.html", takes_context=True)
def case_referrals(context: dict[str, Any], case: Case) -> dict[str, Any]:
    now = timezone.now()
    suggestions = suggest_for_case(case, today=timezone.localdate())
    names = dict(Service.objects.filter(code__in=[s.service for s in suggestions]).values_list("code", "name"))
    consents = [c for c in case.client.consents.all() if c.purpose == ConsentPurpose.REFERRAL and c.is_valid_at(now)]
    return {
        "case": case,
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
        "suggestions": [(s, names.get(s.service, s.service)) for s in suggestions],
        "referral_consents": consents,
        "priorities": Priority.choices,
    }
