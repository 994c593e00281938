"""Rolling raw rows up into stats.models.MonthlyCell, and keeping the current figures fresh.

Freshness: the referral and cases apps call `mark_dirty(at=<the referral's created_at or the case's
opened_at>)` after any change (it is cheap: one UPDATE/INSERT and an on-commit enqueue of
`stats.tasks.refresh_month`). Beat runs `stats.tasks.refresh_dirty` every 2 minutes (catches lost
messages), `stats.tasks.refresh_current_month` every 5 minutes (SLA breaches move with the clock), and
`stats.tasks.rebuild_recent_months` nightly.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from stats.definitions import month_of, month_start
from stats.models import MonthlyCell, MonthState
from stats.rollup import write_month_cells

# Namespace for PostgreSQL advisory locks taken while a month is rebuilt.
_LOCK_NAMESPACE = 0x5_7A75


def mark_dirty(*, at: datetime) -> None:
    """Record, after the caller commits, that figures of the month containing `at` changed.

    Every referral change calls this, so it must not serialize them: the flag is written after
    the caller's commit in its own one-statement transaction (no row lock held across a
    transition), and a rebuild is enqueued only when the month turns dirty. Changes made while a
    rebuild runs keep the flag set (see stats_refresh_month), and the `refresh_dirty` beat task
    picks them up, so nothing waits longer than a beat interval.
    """
    month = month_of(at)
    transaction.on_commit(lambda: _flag_dirty(month))


def _flag_dirty(month: date) -> None:
    from stats.tasks import refresh_month

    now = timezone.now()
    if connection.vendor == "postgresql":
        # One statement (this runs after every intake and transition): set the flag and learn whether
        # it was clear before. The row is locked in the subquery, so `was_clean` is the committed value.
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE stats_monthstate AS s SET dirty_since = %s "
                "FROM (SELECT id, dirty_since IS NULL AS was_clean FROM stats_monthstate "
                "WHERE month = %s FOR UPDATE) AS old WHERE s.id = old.id RETURNING old.was_clean",
                [now, month],
            )
            row = cur.fetchone()
        turned_dirty = bool(row[0]) if row else False
        if row is None:
            _, turned_dirty = MonthState.objects.get_or_create(month=month, defaults={"dirty_since": now})
    else:
        turned_dirty = bool(MonthState.objects.filter(month=month, dirty_since__isnull=True).update(dirty_since=now))
        if not turned_dirty:
            if MonthState.objects.filter(month=month).update(dirty_since=now):
                return
            _, turned_dirty = MonthState.objects.get_or_create(month=month, defaults={"dirty_since": now})
    if turned_dirty:
        from core.queueing import delay_safely

        delay_safely(refresh_month, month.isoformat())


def stats_refresh_month(*, month: date, as_of: datetime | None = None) -> int:
    """Rebuild every cell of one month from the raw rows. Idempotent; returns the number of cells.

    The database aggregates the cells (stats.rollup: the same statement on PostgreSQL and on SQLite).
    """
    month = month_start(month)
    started = timezone.now()
    as_of = as_of or started
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                lock_key = month.year * 100 + month.month
                cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, lock_key])
                if not cur.fetchone()[0]:
                    # Another worker is rebuilding it; a later change keeps it dirty for the next run.
                    return 0
        MonthlyCell.objects.filter(month=month).delete()
        with connection.cursor() as cur:
            written = write_month_cells(cur, connection, month=month, as_of=as_of)
        state, _ = MonthState.objects.get_or_create(month=month)
        state.computed_at = as_of
        if state.dirty_since is not None and state.dirty_since <= started:
            state.dirty_since = None
        state.save(update_fields=["computed_at", "dirty_since"])
    return written


def stats_refresh_dirty() -> list[date]:
    months = list(MonthState.objects.filter(dirty_since__isnull=False).values_list("month", flat=True))
    for m in months:
        stats_refresh_month(month=m)
    return months


def stats_rebuild_recent_months(*, now: datetime | None = None) -> list[date]:
    current = month_of(now or timezone.now())
    previous = month_start(current - timedelta(days=1))
    for m in (previous, current):
        stats_refresh_month(month=m)
    return [previous, current]
