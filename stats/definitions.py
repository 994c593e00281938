"""What each figure means, in one place. Both the rollup (stats.cube) and the tests' direct computation
over raw rows use these definitions, so they can be compared exactly.

- Month: the Asia/Seoul calendar month. Walk-ins belong to the month the case was opened; every referral
  figure belongs to the month the referral was requested (a cohort), as it stands now — a referral
  requested in March and completed in April raises March's "completed".
- Center of a figure: walk-ins count at the case's center; "sent" at the sending center; everything
  that happens at a desk (received, accepted, rejected, completed, achieved, failed, cancelled, open,
  times, SLA, co-location) at the center of the desk it is at now — or, for a referral that never
  reached a desk, at the sending center with no desk. Declines and accept timeouts count at the desk
  that declined or let the deadline pass. Region and center kind are the center's.
- Unique clients: distinct clients behind any of those figures in the cell (not additive across cells).
- Age band: the client's age on the first day of the month; gender as recorded ("" = not stated).
- Hours to accept: requested → accepted; hours to complete: requested → completed. Measured in whole
  tenths of an hour (rounded down); median and p90 are nearest-rank percentiles (the smallest value
  with at least p·n values at or below it), reported in hours.
- SLA breach (one per referral at most): accepted after its accept due time, or still waiting at a desk
  past it; or closed (completed/failed) after its close due time, or still open after acceptance past it.
  "Now" is the time the month was last rolled up. Accept timeouts (re-routed because the deadline
  passed) are counted separately at the desk that let it pass.
- Co-located share: referrals routed to a desk in the sending center ÷ referrals routed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")

AGE_BANDS = ["0-19", "20-29", "30-39", "40-49", "50-59", "60-64", "65+"]
# The age each band but the last stays below.
AGE_BAND_UPPER = (20, 30, 40, 50, 60, 65)
# The percentiles every cell keeps (median and 90th), as exact fractions so the SQL rollup can rank in integers.
PERCENTILES = {"p50": Fraction(1, 2), "p90": Fraction(9, 10)}


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def next_month(m: date) -> date:
    return date(m.year + (m.month == 12), m.month % 12 + 1, 1)


def month_of(at: datetime) -> date:
    return month_start(at.astimezone(SEOUL).date())


def month_bounds(m: date) -> tuple[datetime, datetime]:
    """Aware datetimes [start, end) of a Seoul calendar month."""
    n = next_month(m)
    return datetime(m.year, m.month, 1, tzinfo=SEOUL), datetime(n.year, n.month, 1, tzinfo=SEOUL)


def age_band(birth: date | None, month: date) -> str:
    if birth is None:
        return ""
    age = month.year - birth.year - ((month.month, month.day) < (birth.month, birth.day))
    for band, upper in zip(AGE_BANDS, AGE_BAND_UPPER, strict=False):
        if age < upper:
            return band
    return AGE_BANDS[-1]


def tenths_of_hour(start: datetime, end: datetime) -> int:
    return max(0, int((end - start).total_seconds() // 360))


def nearest_rank(p: float | Fraction, n: int) -> int:
    """How many values must lie at or below the p-th percentile of n values: ceil(p·n), at least 1."""
    exact = p if isinstance(p, Fraction) else Fraction(str(p))
    return max(1, math.ceil(exact * n))


def percentile_from_hist(hist: Mapping[int, int], p: float | Fraction) -> float | None:
    """Nearest-rank percentile of a {tenths: count} histogram, in hours."""
    n = sum(hist.values())
    if n == 0:
        return None
    rank = nearest_rank(p, n)
    seen = 0
    for value in sorted(hist):
        seen += hist[value]
        if seen >= rank:
            return value / 10
    raise AssertionError("unreachable")


def percentile(values: Iterable[int], p: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    rank = nearest_rank(p, len(ordered))
    return ordered[rank - 1] / 10


ACCEPT_WAITING = ("requested",)
AFTER_ACCEPT_OPEN = ("accepted", "in_progress", "on_hold")


def sla_breached(
    *,
    status: str,
    routed: bool,
    accepted_at: datetime | None,
    accept_due_at: datetime | None,
    closed_at: datetime | None,
    close_due_at: datetime | None,
    as_of: datetime,
) -> bool:
    if accept_due_at is not None:
        if accepted_at is not None and accepted_at > accept_due_at:
            return True
        if accepted_at is None and status in ACCEPT_WAITING and routed and as_of > accept_due_at:
            return True
    if close_due_at is not None:
        if closed_at is not None and status in ("completed", "failed") and closed_at > close_due_at:
            return True
        if closed_at is None and status in AFTER_ACCEPT_OPEN and as_of > close_due_at:
            return True
    return False
