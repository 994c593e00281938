"""A year of service history for the demo (`make run`): the synthetic generator over the real directory, then
the monthly statistics of every month it covers, so the queues carry overdue items, declines and re-routes, and
the ministry dashboard draws twelve months of curves."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from demo.synthetic import Result, Spec, generate_synthetic
from referral.models import Referral
from stats.definitions import month_start
from stats.services import stats_refresh_month

# Enough for every demo center's queue and a national curve, small enough for SQLite in well under a minute.
DEFAULT_REFERRALS = 6_000
CLIENTS_PER_REFERRAL = 0.42  # the generator's clients return: about 2.4 referrals per client over a year
MONTHS = 12


def has_history(*, before: dt.datetime | None = None) -> bool:
    """A history is loaded when referrals exist from before the last two months (the hand-made demo
    referrals are all of today)."""
    before = before or timezone.now() - dt.timedelta(days=62)
    return Referral.objects.filter(created_at__lt=before).exists()


def load_history(*, referrals: int = DEFAULT_REFERRALS, seed: int = 2026) -> Result | None:
    """Generate the history once (a second call finds it and adds nothing) and refresh its months' statistics."""
    if referrals <= 0 or has_history():
        return None
    spec = Spec(
        clients=max(1, round(referrals * CLIENTS_PER_REFERRAL)),
        referrals=referrals,
        months=MONTHS,
        seed=seed,
    )
    # Plain inserts: the demo is small, and dropping indexes inside a transaction that just wrote (a test) fails.
    result = generate_synthetic(spec, bulk=False)
    refresh_months(MONTHS + 1)
    return result


def refresh_months(count: int) -> list[dt.date]:
    """Rebuild the statistics of the current month and the count - 1 before it."""
    month = month_start(timezone.localdate())
    done = []
    for _ in range(count):
        stats_refresh_month(month=month)
        done.append(month)
        month = month_start(month - dt.timedelta(days=1))
    return done
