"""Rolling raw rows up into stats.models.MonthlyCell, and keeping the current figures fresh.

Freshness: the referral and cases apps announce every change with the month and the clients it touched
(their signals → `mark_dirty(at=…, clients=…)`: after the commit, the clients are listed and the month
flagged, and `stats.tasks.refresh_month` is enqueued when it turns dirty). That task moves the month's cells
by the changed clients' facts only (stats.incremental). Beat runs `stats.tasks.refresh_dirty` every 30
seconds (catches lost messages and changes made during a refresh), `stats.tasks.refresh_current_month` every 5 minutes (SLA breaches move with
the clock), and `stats.tasks.rebuild_recent_months` nightly: a rebuild, compared with the incremental cells.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from stats.definitions import month_of, month_start
from stats.models import MonthFact, MonthlyCell, MonthState, PendingChange
from stats.rollup import write_month_cells, write_month_facts

# Namespace for PostgreSQL advisory locks taken while a month is rebuilt.
_LOCK_NAMESPACE = 0x5_7A75


def mark_dirty(*, at: datetime, clients: Iterable[int] | None = None) -> None:
    """Record, after the caller commits, that figures of the month containing `at` changed — those of
    `clients`, or of anyone (None: the next refresh rebuilds the month).

    Every referral change calls this, so it must not serialize them: the clients are listed and the flag
    is written after the caller's commit in statements of their own (no row lock held across a
    transition; the list has no uniqueness for an insert to wait on), and a refresh is enqueued only when
    the month turns dirty. Changes made while a refresh runs keep the flag set (see stats_refresh_month),
    and the `refresh_dirty` beat task picks them up, so nothing waits longer than a beat interval.
    """
    month = month_of(at)
    ids = None if clients is None else sorted(set(clients))
    transaction.on_commit(lambda: _flag_dirty(month, ids))


def _flag_dirty(month: date, clients: list[int] | None = None) -> None:
    from stats.tasks import refresh_month

    now = timezone.now()
    if clients:
        PendingChange.objects.bulk_create([PendingChange(month=month, client_id=c) for c in clients], batch_size=5000)
    elif clients is None:
        MonthState.objects.filter(month=month).update(needs_rebuild=True)
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


def month_lock(month: date) -> bool:
    """Take the month's refresh lock for the current transaction (PostgreSQL; SQLite has one writer anyway):
    False when another worker holds it. One rebuild or incremental refresh of a month at a time."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [_LOCK_NAMESPACE, month.year * 100 + month.month])
        return bool(cur.fetchone()[0])


def stats_refresh_month(*, month: date, as_of: datetime | None = None) -> int:
    """Rebuild every fact and cell of one month from the raw rows: the repair tool, and what a month
    without stored facts gets (stats.incremental keeps it current afterwards). Idempotent; returns the
    number of cells.

    The database counts the facts and aggregates the cells (stats.rollup: the same statements on
    PostgreSQL and on SQLite).
    """
    month = month_start(month)
    started = timezone.now()
    as_of = as_of or started
    with transaction.atomic():
        if not month_lock(month):
            return 0  # another worker is refreshing it; a later change keeps it dirty for the next run
        # What is pending is counted now: every fact of the month is recounted below.
        PendingChange.objects.filter(month=month).delete()
        MonthFact.objects.filter(month=month).delete()
        MonthlyCell.objects.filter(month=month).delete()
        with connection.cursor() as cur:
            write_month_facts(cur, connection, month=month, as_of=as_of)
            written = write_month_cells(cur, connection, month=month)
        state, _ = MonthState.objects.get_or_create(month=month)
        state.computed_at = as_of
        state.needs_rebuild = False
        if state.dirty_since is not None and state.dirty_since <= started:
            state.dirty_since = None
        state.save(update_fields=["computed_at", "dirty_since", "needs_rebuild"])
    return written


def stats_refresh_dirty() -> list[date]:
    """Every month changed since its last refresh, brought up to date by its changed clients."""
    from stats.incremental import stats_update_month

    months = list(MonthState.objects.filter(dirty_since__isnull=False).values_list("month", flat=True))
    for m in months:
        stats_update_month(month=m)
    return months


def stats_rebuild_recent_months(*, now: datetime | None = None) -> list[date]:
    """Nightly: last month and this one rebuilt from the raw rows, each first compared with its incrementally
    kept cells (stats.incremental.stats_verify_month: a difference is logged and counted)."""
    from stats.incremental import stats_verify_month

    current = month_of(now or timezone.now())
    previous = month_start(current - timedelta(days=1))
    for m in (previous, current):
        stats_verify_month(month=m)
    return [previous, current]
