"""Thin Celery wrappers around cases services."""

from __future__ import annotations

from celery import shared_task

from cases.imports import import_batch_validate
from cases.services import pii_access_log_purge
from core.queueing import task_options


@shared_task(name="cases.tasks.purge_access_log", **task_options(300))
def purge_access_log() -> int:
    """Idempotent: a second run finds nothing older than the retention period."""
    return pii_access_log_purge()


@shared_task(name="cases.tasks.validate_import_batch", **task_options(300, retries=5))
def validate_import_batch(batch_id: int) -> None:
    """Idempotent: only a batch still `validating` is checked; the verdict is written once."""
    import_batch_validate(batch_id=batch_id)
