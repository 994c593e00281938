"""Thin Celery wrappers around cases services."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from cases.imports import import_batch_validate
from cases.services import pii_access_log_purge


@shared_task(name="cases.tasks.purge_access_log", soft_time_limit=300, time_limit=360, acks_late=True)
def purge_access_log() -> int:
    """Idempotent: a second run finds nothing older than the retention period."""
    return pii_access_log_purge()


@shared_task(
    name="cases.tasks.validate_import_batch",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=300,
    time_limit=360,
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    ignore_result=True,
)
def validate_import_batch(batch_id: int) -> None:
    """Idempotent: only a batch still `validating` is checked; the verdict is written once."""
    import_batch_validate(batch_id=batch_id)
