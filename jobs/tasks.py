"""Celery tasks of the safe job market: thin wrappers around jobs.services. Both idempotent."""

from __future__ import annotations

import logging

from celery import shared_task

from jobs import services, work24

logger = logging.getLogger(__name__)


@shared_task(name="jobs.tasks.import_work24", soft_time_limit=300, time_limit=360, acks_late=True)
def import_work24() -> dict:
    """Upserts by wantedAuthNo, so a second run changes nothing more. Without a key it says so and stops."""
    try:
        return services.work24_import_run().as_dict()
    except work24.Work24Disabled as exc:
        logger.warning("%s", exc)
        return {"disabled": str(exc)}


@shared_task(name="jobs.tasks.purge_raw_payloads", soft_time_limit=120, time_limit=180, acks_late=True)
def purge_raw_payloads() -> int:
    return services.postings_purge_raw_payloads()


@shared_task(name="jobs.tasks.retrain_classifier", soft_time_limit=1800, time_limit=1900, acks_late=True)
def retrain_classifier() -> dict:
    """Nightly: a new screening model only when reviewers decided something since the last one, and only
    once there are enough decisions; otherwise it says why and stores nothing."""
    result = services.classifier_retrain_if_due()
    logger.info("screening model retraining: %s", result)
    return result
