"""Shared steps for referral tests: send a referral and walk it to a given state through the services."""

from __future__ import annotations

from typing import Any

from referral import services
from referral.models import Referral
from referral.tests.factories import case_with_consent


def send(
    counselor: Any, service: str = "debt_adjustment", *, route: bool = True, capture: Any = None, **kw: Any
) -> Referral:
    """Create a referral from the counselor's center; with `capture` (django_capture_on_commit_callbacks) route it."""
    case = kw.pop("case", None) or case_with_consent(counselor)
    if capture is not None and route:
        with capture(execute=True):
            r = services.referral_create(by=counselor, case_id=case.pk, service_code=service, **kw)
    else:
        r = services.referral_create(by=counselor, case_id=case.pk, service_code=service, **kw)
    r.refresh_from_db()
    return r


def walk_to(state: str, *, sender: Any, receiver: Any, capture: Any) -> Referral:
    """A debt_adjustment referral from the sender's center, received by the receiver's, in `state`."""
    if state == "unrouted":
        return send(sender, route=False)
    r = send(sender, capture=capture)
    pk: int = r.pk  # type: ignore[assignment]
    steps = {
        "requested": [],
        "accepted": ["accept"],
        "in_progress": ["accept", "start"],
        "on_hold": ["accept", "start", "hold"],
        "completed": ["accept", "start", "complete"],
        "failed": ["accept", "fail"],
        "cancelled": ["cancel"],
        "rejected": ["reject"],
    }[state]
    for step in steps:
        if step == "accept":
            services.referral_accept(referral_id=pk, by=receiver)
        elif step == "start":
            services.referral_start(referral_id=pk, by=receiver)
        elif step == "hold":
            services.referral_hold(referral_id=pk, by=receiver)
        elif step == "complete":
            services.referral_complete(referral_id=pk, by=receiver, outcome="fast_track_agreed", achieved=True)
        elif step == "fail":
            services.referral_fail(referral_id=pk, by=receiver, reason="no_show")
        elif step == "cancel":
            services.referral_cancel(referral_id=pk, by=sender, reason="client_request")
        elif step == "reject":
            from centers.models import Desk

            # Leave no other candidate, then decline at the current desk: routing finds none.
            current = Referral.objects.get(pk=pk).to_desk_id
            Desk.objects.filter(services__code="debt_adjustment").exclude(pk=current or 0).update(active=False)
            with capture(execute=True):
                services.referral_decline(referral_id=pk, by=receiver, reason="no_capacity")
    r.refresh_from_db()
    return r
