"""Reads of referrals scoped to the caller: only referrals sent from or received by their center."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import cache
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from centers import slots
from centers.models import CENTER_ROLES, Desk
from centers.selectors import actor_for, desk_list
from core.errors import PermissionDenied
from referral.lifecycle import STATUS_FILTERS, UNROUTED, may_assign_others
from referral.models import (
    OPEN_STATUSES,
    Appointment,
    EventKind,
    Notification,
    Priority,
    Referral,
    ReferralEvent,
    ReferralPosting,
    Status,
)

User = get_user_model()

INCOMING, OUTGOING = "incoming", "outgoing"


def _center_for(user: AbstractBaseUser | AnonymousUser) -> int | None:
    actor = actor_for(user)
    if actor.is_ministry:
        raise PermissionDenied(_("Ministry accounts see aggregated statistics only."))
    return actor.center_id if actor.is_center_staff else None


def referrals_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Referral]:
    center_id = _center_for(user)
    if center_id is None:
        return Referral.objects.none()
    return Referral.objects.filter(Q(from_center_id=center_id) | Q(to_center_id=center_id))


def next_due_expression() -> F:
    """The due time of the step the referral is waiting for (what the queue sorts and flags on).

    A stored generated column (`Referral.next_due_at`): accept due while requested, first contact
    due while accepted, close due while in progress or on hold, none once closed. Indexed with the
    queues' order so a page of 50 reads 50 index entries, not every open referral of the center.
    """
    return F("next_due_at")


def overdue_q(now: dt.datetime) -> Q:
    """Open, at a desk, and past the due time of the step it waits for (rows are flagged the same way)."""
    return Q(next_due_at__lt=now, to_desk__isnull=False)


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
    if f.status == UNROUTED:
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
    # Few joins: PostgreSQL spent 35-50 ms planning the 9-table join this used to be (more than
    # running it); the small directory tables come in three trivial prefetch queries instead.
    qs = (
        qs.select_related("client", "to_desk", "assigned_to")
        .prefetch_related("service", "from_center", "to_center", active_appointments_prefetch())
        .annotate(next_due=next_due_expression())
    )
    if f.sort == "-created":
        return qs.order_by("-created_at", "-pk")
    if f.sort == "created":
        return qs.order_by("created_at", "pk")
    # Matches ref_in_center_next_due / ref_out_center_next_due: overdue first (earliest due), closed last.
    return qs.order_by(F("next_due_at").asc(nulls_last=True), "-created_at", "-pk")


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
    # Three small index reads instead of one aggregate over every referral the center ever had:
    # per status (index-only on the (center, status, ...) index), overdue (a range of the next-due
    # index: only open referrals have a due time) and unrouted (the ref_unrouted partial index).
    counts = dict.fromkeys(STATUS_FILTERS, 0)
    for status, n in qs.order_by().values_list("status").annotate(n=Count("*")).values_list("status", "n"):
        if status in counts:
            counts[status] = n
    unrouted_q = Q(status=Status.REQUESTED, to_desk__isnull=True)
    extra = (
        qs.order_by()
        .filter(overdue_q(now) | unrouted_q)
        .aggregate(overdue=Count("pk", filter=overdue_q(now)), unrouted=Count("pk", filter=unrouted_q))
    )
    counts[UNROUTED] = int(extra["unrouted"] or 0)
    counts[Status.REQUESTED] -= counts[UNROUTED]
    counts["overdue"] = int(extra["overdue"] or 0)
    return counts


def referral_get_for(user: AbstractBaseUser | AnonymousUser, pk: int | str) -> Referral:
    qs = (
        referrals_visible_to(user)
        # See referral_list_for: joining every relation cost more planning than the page's whole budget.
        .select_related("client", "case", "to_desk", "assigned_to")
        .prefetch_related(
            "service",
            "from_center",
            "to_center",
            "created_by",
            Prefetch(
                "events", queryset=ReferralEvent.objects.select_related("by", "desk__center").order_by("at", "pk")
            ),
            "service__outcomes",
            _offered_postings(),
            active_appointments_prefetch(),
        )
    )
    return get_object_or_404(qs, pk=pk)


def _offered_postings() -> Prefetch:
    return Prefetch("postings", queryset=ReferralPosting.objects.select_related("posting__employer", "offered_by"))


def referral_get_for_api(user: AbstractBaseUser | AnonymousUser, pk: int | str) -> Referral:
    """What the API's referral answer shows (ReferralDetailSerializer): no case, creator or outcome
    catalog. A lookup by pk joins six tables in ~2.5 ms of planning, less than the three round trips
    the directory prefetches would cost (the list keeps prefetching: see referral_list_for)."""
    qs = (
        referrals_visible_to(user)
        .select_related("client", "service", "from_center", "to_center", "to_desk")
        .prefetch_related(
            Prefetch("events", queryset=ReferralEvent.objects.select_related("by", "desk").order_by("at", "pk")),
            _offered_postings(),
            active_appointments_prefetch(),
        )
    )
    return get_object_or_404(qs, pk=pk)


def referral_check_visible(user: AbstractBaseUser | AnonymousUser, pk: int | str) -> None:
    """404 unless the caller may see the referral (the scope check before an action): one query."""
    get_object_or_404(referrals_visible_to(user).only("pk"), pk=pk)


def routing_of(referral: Referral) -> dict:
    """The latest routing decision (from the prefetched events): the chosen desk's reason and candidates."""
    for event in reversed(list(referral.events.all())):
        if event.kind in (EventKind.ROUTE, EventKind.ROUTE_FAILED):
            data = dict(event.data or {})
            codes = data.get("full_desks") or []
            if codes:
                # The event stores desk codes (stable); the page names the desks as the directory does.
                desks = Desk.objects.filter(code__in=codes).select_related("center")
                names = {d.code: f"{d.center.name} · {d.name}" for d in desks}
                data["full_desk_names"] = [names.get(code, code) for code in codes]
            return data
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


def assignable_staff_for(user: AbstractBaseUser | AnonymousUser, center_id: int | None) -> QuerySet:
    """Whom the user may name as assignee at that center (lifecycle.may_assign_others): a manager
    anyone of its staff, anyone else only themselves."""
    actor = actor_for(user)
    if actor.center_id != center_id:
        return User.objects.none()
    qs = assignable_staff(center_id)
    return qs if may_assign_others(actor) else qs.filter(pk=user.pk)


def desk_list_with_load() -> QuerySet[Desk]:
    """The directory's desks, each with `open_referrals`: the referrals it holds that are still open."""
    return desk_list().annotate(
        open_referrals=Count("referrals_received", filter=Q(referrals_received__status__in=OPEN_STATUSES))
    )


UNREAD_COUNT_SECONDS = 30


def unread_count_key(user_id: int) -> str:
    return f"notifications:unread:{user_id}"


def unread_notification_count(*, user_id: int) -> int:
    """The header's badge on every page: kept in the cache (best effort: without Redis it is counted) and
    forgotten when the user's notifications change (referral.notifications), at most 30 s old otherwise."""
    key = unread_count_key(user_id)
    cached = cache.get(key)
    if isinstance(cached, int):
        return cached
    count = Notification.objects.filter(user_id=user_id, read_at__isnull=True).count()
    cache.set(key, count, UNREAD_COUNT_SECONDS)
    return count


def referral_get_for_slip(user: AbstractBaseUser | AnonymousUser, pk: int | str) -> Referral:
    """What the referral slip prints: the receiving desk and its center, the service, the sender. Sending
    and receiving side only (others 404); one joined query."""
    qs = referrals_visible_to(user).select_related(
        "client", "service", "to_desk__center", "from_center", "from_desk", "created_by"
    )
    return get_object_or_404(qs.prefetch_related(active_appointments_prefetch()), pk=pk)


# --- Appointments ---


def active_appointments_prefetch() -> Prefetch:
    """The referral's appointment holding a place, as `referral.active_appointments` (services.active_appointment)."""
    return Prefetch(
        "appointments",
        queryset=Appointment.objects.filter(cancelled_at__isnull=True).select_related("desk"),
        to_attr="active_appointments",
    )


@dataclass(frozen=True)
class SlotLoad:
    start: dt.datetime
    end: dt.datetime
    capacity: int
    booked: int

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.booked)


def desk_for_slots(pk: int) -> Desk:
    """An active desk of an active center (the directory is any staff member's to read)."""
    return get_object_or_404(Desk.objects.filter(active=True, center__active=True), pk=pk)


def desk_slot_load(desk: Desk, *, first: dt.date, last: dt.date, now: dt.datetime | None = None) -> list[SlotLoad]:
    """The desk's bookable slots from `first` to `last` with the places their active appointments take.

    Days before today have no slot to book: the range starts today at the earliest."""
    now = now or timezone.now()
    first = max(first, timezone.localdate(now))
    rows = slots.desk_slots(desk, first=first, last=last, now=now)
    if not rows:
        return []
    taken = dict(
        Appointment.objects.filter(
            desk_id=desk.pk, cancelled_at__isnull=True, start__gte=rows[0].start, start__lte=rows[-1].start
        )
        .values_list("start")
        .annotate(n=Count("pk"))
        .values_list("start", "n")
    )
    return [SlotLoad(s.start, s.end, s.capacity, int(taken.get(s.start, 0))) for s in rows]


def next_free_slots(
    desk: Desk, *, days: int = 14, limit: int | None = None, now: dt.datetime | None = None
) -> list[SlotLoad]:
    """The soonest slots with a place left (the pages' slot picker), within `days` days from today."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    rows = desk_slot_load(desk, first=today, last=today + dt.timedelta(days=days - 1), now=now)
    free = [r for r in rows if r.available > 0]
    return free[:limit] if limit is not None else free


def appointments_of_day(
    user: AbstractBaseUser | AnonymousUser, *, day: dt.date, desk_id: int | None = None
) -> list[Appointment]:
    """The active appointments of that day at the user's center's desks (the desk's day view), soonest first."""
    center_id = _center_for(user)
    if center_id is None:
        return []
    start = dt.datetime.combine(day, dt.time.min, tzinfo=slots.SEOUL)
    qs = Appointment.objects.filter(
        desk__center_id=center_id,
        cancelled_at__isnull=True,
        start__gte=start,
        start__lt=start + dt.timedelta(days=1),
    )
    if desk_id is not None:
        qs = qs.filter(desk_id=desk_id)
    return list(
        qs.select_related(
            "desk", "referral__client", "referral__service", "referral__from_center", "booked_by"
        ).order_by("start", "desk__code", "pk")
    )
