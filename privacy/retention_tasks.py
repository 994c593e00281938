"""Thin Celery tasks of retention, destruction and the access review (imported by PrivacyConfig.ready)."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.queueing import delay_safely, task_options


@shared_task(name="privacy.retention_tasks.propose_destruction", **task_options(300))
def propose_destruction() -> int | None:
    """Nightly, and after a collection consent is withdrawn. Idempotent: while a batch is open it is returned;
    an approved batch left undestroyed (a lost message, a killed worker) is run again."""
    from privacy.destruction import approved_batches_stuck, destruction_propose

    for pk in approved_batches_stuck():
        delay_safely(run_destruction, pk)
    batch = destruction_propose()
    return batch.pk if batch else None


@shared_task(name="privacy.retention_tasks.run_destruction", **task_options(600, retries=10))
def run_destruction(batch_id: int) -> bool:
    """Idempotent and resumable: one transaction per batch, so a retry finds it approved (rolled back) or destroyed."""
    from privacy.destruction import destruction_run

    return destruction_run(batch_id=batch_id)


@shared_task(name="privacy.retention_tasks.compute_access_review", **task_options(600))
def compute_access_review() -> list[str]:
    """Daily: this month's flags so far and last month's until it is signed off; then the unreviewed alert."""
    from privacy.access_review import month_start, previous_month, review_alert_unreviewed, review_compute

    this_month = month_start(timezone.localdate())
    done = []
    for month in (previous_month(this_month), this_month):
        review_compute(month=month)
        done.append(f"{month:%Y-%m}")
    review_alert_unreviewed()
    return done


@shared_task(name="privacy.retention_tasks.purge_permission_history", **task_options(300))
def purge_permission_history() -> int:
    from centers.permission_history import permission_history_purge

    return permission_history_purge()


@shared_task(name="privacy.retention_tasks.alert_requests_due", **task_options(300))
def alert_requests_due() -> int:
    """Daily: tell the privacy officers and the center's managers of open requests due soon or overdue (once)."""
    from privacy.requests import requests_alert_due

    return requests_alert_due()
