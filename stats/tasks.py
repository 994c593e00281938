"""Celery tasks of the `stats` queue: thin wrappers around stats.services. All idempotent."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from core.queueing import task_options
from stats import services
from stats.incremental import stats_update_month


@shared_task(name="stats.tasks.refresh_month", **task_options(600))
def refresh_month(month: str) -> int:
    """`month` is an ISO date of any day in the month, e.g. "2026-03-01". The changed clients only."""
    return stats_update_month(month=date.fromisoformat(month))


@shared_task(name="stats.tasks.refresh_dirty", **task_options(600))
def refresh_dirty() -> int:
    return len(services.stats_refresh_dirty())


@shared_task(name="stats.tasks.refresh_current_month", **task_options(600))
def refresh_current_month() -> int:
    from django.utils import timezone

    from stats.definitions import month_of

    return stats_update_month(month=month_of(timezone.now()))


@shared_task(name="stats.tasks.rebuild_recent_months", **task_options(600))
def rebuild_recent_months() -> int:
    return len(services.stats_rebuild_recent_months())
