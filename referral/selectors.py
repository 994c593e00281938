"""Reads of referrals scoped to the caller: only referrals sent from or received by their center."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Case, Count, DateTimeField, F, Prefetch, Q, QuerySet, When
from django.shortcuts import get_object_or_404
from django.utils import timezone

from centers.errors import PermissionDenied
from centers.models import CENTER_ROLES, Desk
from centers.selectors import actor_for
from referral.models import OPEN_STATUSES, EventKind, Priority, Referral, ReferralEvent, Status

User = get_user_model()

INCOMING, OUTGOING = "incoming", "outgoing"


def _center_for(user: AbstractBaseUser | AnonymousUser) -> int | None:
    actor = actor_for(user)
    if actor.is_ministry:
        raise PermissionDenied("Ministry accounts see aggregated statistics only.")
    return actor.center_id if actor.is_center_staff else None


def referrals_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Referral]:
    center_id = _center_for(user)
    if center_id is None:
        return Referral.objects.none()
    return Referral.objects.filter(Q(from_center_id=center_id) | Q(to_center_id=center_id))


def next_due_expression() -> Case:
    """The due time of the step the referral is waiting for (what the queue sorts and flags on)."""
    return Case(
        When(status=Status.REQUESTED, then=F("accept_due_at")),
        When(status=Status.ACCEPTED, then=F("contact_due_at")),
        When(status__in=[Status.IN_PROGRESS, Status.ON_HOLD], then=F("close_due_at")),
        default=None,
        output_field=DateTimeField(),
    )


def overdue_q(now: dt.datetime) -> Q:
    return (
        Q(status=Status.REQUESTED, to_desk__isnull=False, accept_due_at__lt=now)
        | Q(status=Status.ACCEPTED, contact_due_at__lt=now)
        | Q(status__in=OPEN_STATUSES, close_due_at__lt=now)
    )


@dataclass(frozen=True)
class QueueFilters:
    status: str = ""
    desk: str = ""
    service: str = ""
    priority: str = ""
    overdue: bool = False
    assigned: str = ""  # "mine" | "unassigned" | ""
    sort: str = "due"


def referral_list_for(
    user: AbstractBaseUser | AnonymousUser, *, box: str, filters: QueueFilters | None = None
) -> QuerySet[Referral]:
    """The incoming queue (what was routed to the caller's center's desks) or the outgoing list."""
    center_id = _center_for(user)
    if center_id is None:
        return Referral.objects.none()
    f = filters or QueueFilters()
    now = timezone.now()
    qs = (
        Referral.objects.filter(to_center_id=center_id)
        if box == INCOMING
        else Referral.objects.filter(from_center_id=center_id)
    )
    if f.status == "unrouted":
        qs = qs.filter(status=Status.REQUESTED, to_desk__isnull=True)
    elif f.status == "open":
        qs = qs.filter(status__in=OPEN_STATUSES)
    elif f.status in Status.values:
        qs = qs.filter(status=f.status)
    if f.desk.isdigit():
        qs = qs.filter(to_desk_id=int(f.desk))
    if f.service:
        qs = qs.filter(service__code=f.service)
    if f.priority in Priority.values:
        qs = qs.filter(priority=f.priority)
    if f.overdue:
        qs = qs.filter(overdue_q(now))
    if f.assigned == "mine":
        qs = qs.filter(assigned_to_id=user.pk)
    elif f.assigned == "unassigned":
        qs = qs.filter(assigned_to__isnull=True)
    qs = qs.select_related(
        "client", "service", "from_center", "to_desk", "to_center", "assigned_to", "case__counselor"
    ).annotate(next_due=next_due_expression())
    if f.sort == "-created":
        return qs.order_by("-created_at", "-pk")
    if f.sort == "created":
        return qs.order_by("created_at", "pk")
    return qs.order_by(F("next_due").asc(nulls_last=True), "-created_at", "-pk")


def status_counts(user: AbstractBaseUser | AnonymousUser, *, box: str) -> dict[str, int]:
    """Counts per status for the queue header; `unrouted` separates requested-without-a-desk."""
    center_id = _center_for(user)
    if center_id is None:
        return {}
    qs = (
        Referral.objects.filter(to_center_id=center_id)
        if box == INCOMING
        else Referral.objects.filter(from_center_id=center_id)
    )
    now = timezone.now()
    row = qs.aggregate(
        requested=Count("pk", filter=Q(status=Status.REQUESTED, to_desk__isnull=False)),
        unrouted=Count("pk", filter=Q(status=Status.REQUESTED, to_desk__isnull=True)),
        accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
        in_progress=Count("pk", filter=Q(status=Status.IN_PROGRESS)),
        on_hold=Count("pk", filter=Q(status=Status.ON_HOLD)),
        completed=Count("pk", filter=Q(status=Status.COMPLETED)),
        failed=Count("pk", filter=Q(status=Status.FAILED)),
        rejected=Count("pk", filter=Q(status=Status.REJECTED)),
        cancelled=Count("pk", filter=Q(status=Status.CANCELLED)),
        overdue=Count("pk", filter=overdue_q(now)),
    )
    return {k: int(v or 0) for k, v in row.items()}


def referral_get_for(user: AbstractBaseUser | AnonymousUser, pk: int | str) -> Referral:
    qs = (
        referrals_visible_to(user)
        .select_related("client", "service", "case", "from_center", "to_desk", "to_center", "assigned_to", "created_by")
        .prefetch_related(
            Prefetch(
                "events", queryset=ReferralEvent.objects.select_related("by", "desk__center").order_by("at", "pk")
            ),
            "service__outcomes",
        )
    )
    return get_object_or_404(qs, pk=pk)


def routing_of(referral: Referral) -> dict:
    """The latest routing decision (from the prefetched events): the chosen desk's reason and candidates."""
    for event in reversed(list(referral.events.all())):
        if event.kind in (EventKind.ROUTE, EventKind.ROUTE_FAILED):
            return event.data or {}
    return {}


def desks_of_center(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Desk]:
    center_id = _center_for(user)
    return Desk.objects.filter(center_id=center_id, active=True).order_by("code") if center_id else Desk.objects.none()


def assignable_staff(center_id: int | None) -> QuerySet:
    if center_id is None:
        return User.objects.none()
    return User.objects.filter(is_active=True, staff__center_id=center_id, staff__role__in=list(CENTER_ROLES)).order_by(
        "username"
    )
