"""Thin Celery wrappers around cases services."""

from __future__ import annotations

from celery import shared_task

from cases.services import pii_access_log_purge


@shared_task(name="cases.tasks.purge_access_log", soft_time_limit=300, time_limit=360, acks_late=True)
def purge_access_log() -> int:
    """Idempotent: a second run finds nothing older than the retention period."""
    return pii_access_log_purge()
