"""Celery tasks of the safe job market: thin wrappers around jobs.services. Both idempotent."""

from __future__ import annotations

import logging

from celery import shared_task

from core.queueing import task_options
from jobs import services, work24

logger = logging.getLogger(__name__)


@shared_task(name="jobs.tasks.import_work24", **task_options(300))
def import_work24() -> dict:
    """Upserts by wantedAuthNo, so a second run changes nothing more. Without a key it says so and stops."""
    try:
        return services.work24_import_run().as_dict()
    except work24.Work24Disabled as exc:
        logger.warning("%s", exc)
        return {"disabled": str(exc)}


@shared_task(name="jobs.tasks.purge_raw_payloads", **task_options(120))
def purge_raw_payloads() -> int:
    return services.postings_purge_raw_payloads()


@shared_task(name="jobs.tasks.retrain_classifier", **task_options(600))
def retrain_classifier() -> dict:
    """Nightly: a new screening model only when reviewers decided something since the last one, and only
    once there are enough decisions; otherwise it says why and stores nothing."""
    result = services.classifier_retrain_if_due()
    logger.info("screening model retraining: %s", result)
    return result
