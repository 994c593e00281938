"""A desk's bookable slots: its weekly schedule cut into slots, less public holidays and its closures.

A desk open on `open_days` from `opens_at` to `closes_at` offers, each such day, slots of `slot_minutes`
starting at the opening time (the last one ends at or before the closing time), each taking
`slot_places` clients. No slot on a Korean public holiday (core.workdays, the calendar the SLA counts
with), on a day of the desk's DeskClosure rows, or that has already started. Times are Asia/Seoul.

How many places are taken is the referral app's business (its appointments); this module knows only
the schedule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from centers.models import Desk, DeskClosure
from core.workdays import SEOUL, is_public_holiday

# The longest range one request may ask for (the API answers 400 beyond it).
MAX_RANGE_DAYS = 62
# How far ahead slots are offered (and asked for).
MAX_DAYS_AHEAD = 366


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    capacity: int


def closure_dates(desk: Desk, *, first: dt.date, last: dt.date) -> set[dt.date]:
    return set(DeskClosure.objects.filter(desk=desk, date__range=(first, last)).values_list("date", flat=True))


def is_open_on(desk: Desk, day: dt.date, *, closures: set[dt.date] | None = None) -> bool:
    """Whether the desk opens that day: one of its weekdays, not a public holiday, not closed."""
    if day.weekday() not in set(desk.open_days or []) or is_public_holiday(day):
        return False
    return day not in (closures if closures is not None else closure_dates(desk, first=day, last=day))


def day_slots(desk: Desk, day: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
    """The (start, end) of every slot of the schedule on that day, open or not."""
    length = dt.timedelta(minutes=desk.slot_minutes)
    start = dt.datetime.combine(day, desk.opens_at, tzinfo=SEOUL)
    closes = dt.datetime.combine(day, desk.closes_at, tzinfo=SEOUL)
    out = []
    while start + length <= closes:
        out.append((start, start + length))
        start += length
    return out


def desk_slots(desk: Desk, *, first: dt.date, last: dt.date, now: dt.datetime | None = None) -> list[Slot]:
    """The desk's bookable slots from `first` to `last` (both included, Seoul dates), soonest first."""
    now = now or timezone.now()
    if last < first or not desk.active:
        return []
    closures = closure_dates(desk, first=first, last=last)
    out: list[Slot] = []
    day = first
    while day <= last:
        if is_open_on(desk, day, closures=closures):
            out += [Slot(s, e, desk.slot_places) for s, e in day_slots(desk, day) if s > now]
        day += dt.timedelta(days=1)
    return out


def slot_starting(desk: Desk, start: dt.datetime, *, now: dt.datetime | None = None) -> Slot | None:
    """The bookable slot that starts exactly at `start` (any offset), or None: not a slot of the
    schedule, on a closed day, or already begun."""
    if start.tzinfo is None:
        return None
    local = start.astimezone(SEOUL)
    for slot in desk_slots(desk, first=local.date(), last=local.date(), now=now):
        if slot.start == local:
            return slot
    return None


def closing_time(desk: Desk, day: dt.date) -> dt.datetime:
    """When the desk closes on that day (Seoul)."""
    return dt.datetime.combine(day, desk.closes_at, tzinfo=SEOUL)
