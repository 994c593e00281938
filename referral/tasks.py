"""Celery tasks: thin wrappers that take ids and call one service. Names match config/celery.py."""

from __future__ import annotations

import datetime as dt
import logging

from celery import shared_task
from django.db.models import Q
from django.utils import timezone

from core.queueing import delay_safely, task_options
from referral import imports, services
from referral.models import OPEN_STATUSES, Referral, Status

logger = logging.getLogger(__name__)

# A referral still unrouted this long after it was requested is enqueued again by the sweeper.
UNROUTED_GRACE = dt.timedelta(minutes=1)
SWEEP_BATCH = 500


@shared_task(name="referral.tasks.route_referral", **task_options(20, 30, retries=5))
def route_referral(referral_id: int) -> None:
    """Idempotent: a referral already at a desk (or closed) is left as it is."""
    services.referral_route(referral_id=referral_id)


@shared_task(name="referral.tasks.sweep_unrouted", **task_options(50, 60))
def sweep_unrouted() -> int:
    """Re-enqueue referrals still waiting for a desk after a minute (a lost message, a Redis outage)."""
    cutoff = timezone.now() - UNROUTED_GRACE
    ids = list(
        Referral.objects.filter(status=Status.REQUESTED, to_desk__isnull=True)
        .filter(Q(updated_at__lt=cutoff))
        .order_by("created_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    sent = sum(1 for pk in ids if delay_safely(route_referral, pk))
    if ids:
        logger.info("sweeper re-enqueued %s of %s unrouted referrals", sent, len(ids))
    return len(ids)


@shared_task(name="referral.tasks.enforce_sla", **task_options(50, 60))
def enforce_sla() -> dict[str, int]:
    """Overdue accept → re-route as a timeout; overdue first contact or close → alert managers once."""
    now = timezone.now()
    base = Referral.objects.filter(to_desk__isnull=False)
    late_accept = list(
        base.filter(status=Status.REQUESTED, accept_due_at__lt=now).values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    late_contact = list(
        base.filter(status=Status.ACCEPTED, contact_due_at__lt=now)
        .exclude(escalated_step__in=["contact", "close"])
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    late_close = list(
        base.filter(status__in=OPEN_STATUSES, close_due_at__lt=now)
        .exclude(escalated_step="close")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    counts = {"timeouts": 0, "contact": 0, "close": 0}
    for pk in late_accept:
        counts["timeouts"] += services.referral_timeout(referral_id=pk) is not None
    for pk in late_contact:
        counts["contact"] += services.referral_escalate(referral_id=pk, step="contact") is not None
    for pk in late_close:
        counts["close"] += services.referral_escalate(referral_id=pk, step="close") is not None
    return counts


@shared_task(
    # 10,000 rows apply in ~12 s at 1M referrals (docs/benchmarks.md): the limits leave room for a loaded machine;
    # imports.APPLY_LEASE exceeds the hard limit, so a killed worker's batch is taken up again only once this
    # one is surely gone.
    name="referral.tasks.apply_import_batch",
    **task_options(540, 600, retries=5),
)
def apply_import_batch(batch_id: int) -> None:
    """Idempotent: claimed by a conditional update; an applied batch, or one another worker holds, is left alone."""
    imports.import_batch_apply(batch_id=batch_id)


@shared_task(name="referral.tasks.route_import_batch", **task_options(240, 300, retries=5))
def route_import_batch(batch_id: int) -> None:
    """Idempotent: only referrals still waiting for a desk are routed; a lost message is the sweeper's
    (sweep_unrouted routes each referral left waiting)."""
    imports.import_batch_route(batch_id=batch_id)


@shared_task(name="referral.tasks.sweep_import_batches", **task_options(50, 60))
def sweep_import_batches() -> int:
    """Re-enqueue batches a lost message or a killed worker left validating, approved or applying."""
    from cases.tasks import validate_import_batch

    due = imports.import_batches_to_resume()
    for pk in due["validate"]:
        delay_safely(validate_import_batch, pk)
    for pk in due["apply"]:
        delay_safely(apply_import_batch, pk)
    if due["validate"] or due["apply"]:
        logger.info("import sweeper re-enqueued %s", due)
    return len(due["validate"]) + len(due["apply"])
