"""Due times counted in business days in Asia/Seoul, skipping weekends and Korean public holidays."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q

from core.workdays import SEOUL, is_business_day
from referral.models import Priority, SlaPolicy

__all__ = ["SEOUL", "SlaDays", "add_business_days", "contact_due", "days_for", "is_business_day"]

# A step is due at the close of business on its last day.
END_OF_DAY = dt.time(18, 0)


@dataclass(frozen=True)
class SlaDays:
    accept: int
    contact: int
    close: int


DEFAULT_DAYS = {
    Priority.NORMAL: SlaDays(accept=2, contact=5, close=20),
    Priority.URGENT: SlaDays(accept=1, contact=2, close=10),
}


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """The end of business (18:00 Seoul) of the `days`-th business day after `start`'s day."""
    day = start.astimezone(SEOUL).date()
    counted = 0
    while counted < days:
        day += dt.timedelta(days=1)
        if is_business_day(day):
            counted += 1
    if days == 0 and not is_business_day(day):
        while not is_business_day(day):
            day += dt.timedelta(days=1)
    return dt.datetime.combine(day, END_OF_DAY, tzinfo=SEOUL)


def days_for(*, service_id: int, priority: str, using: str = "default") -> SlaDays:
    """The service's policy for this priority, else the priority's default row, else the built-in default."""
    rows = {
        p.service_id: p
        for p in SlaPolicy.objects.using(using)
        .filter(Q(service_id=service_id) | Q(service__isnull=True), priority=priority)
        .only("service_id", "accept_days", "contact_days", "close_days")
    }
    row = rows.get(service_id) or rows.get(None)
    if row is not None:
        return SlaDays(accept=row.accept_days, contact=row.contact_days, close=row.close_days)
    return DEFAULT_DAYS.get(Priority(priority), DEFAULT_DAYS[Priority.NORMAL])


def contact_due(
    *, accepted_at: dt.datetime | None, days: SlaDays, appointment_day_close: dt.datetime | None
) -> dt.datetime | None:
    """When first contact is due. With an appointment: the close of the receiving desk on the
    appointment's day (the meeting is the first contact, recorded as "start" that day), whether that is
    sooner or later than the SLA would say. Without: `days.contact` business days after acceptance;
    none before acceptance."""
    if appointment_day_close is not None:
        return appointment_day_close
    if accepted_at is None:
        return None
    return add_business_days(accepted_at, days.contact)
