"""The Celery app (`celery -A config worker`). Queue names live in one enum, the beat schedule in one place."""

from __future__ import annotations

import enum
import os

from celery import Celery
from celery.schedules import crontab
from celery.signals import before_task_publish, setup_logging, task_postrun, task_prerun

from core import requestid

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class CeleryQueue(enum.StrEnum):
    ROUTING = "routing"
    NOTIFICATIONS = "notifications"
    STATS = "stats"


app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The request id of the request that enqueued a task travels in its message headers (core/requestid.py).
before_task_publish.connect(requestid.add_request_id_header, weak=False)
task_prerun.connect(requestid.enter_task, weak=False)
task_postrun.connect(requestid.leave_task, weak=False)


@setup_logging.connect(weak=False)
def _log_through_django_settings(loglevel: int | str | None = None, **_: object) -> None:
    """Workers and beat log with settings.LOGGING (JSON or text, request ids) instead of Celery's own
    format; the level is the command line's `-l`."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    if loglevel:
        logging.getLogger().setLevel(loglevel)


# The one place where periodic work is scheduled. Task names are their dotted paths.
BEAT_SCHEDULE: dict[str, dict] = {
    "referral-sweep-unrouted": {
        "task": "referral.tasks.sweep_unrouted",
        "schedule": 30.0,
        "options": {"queue": CeleryQueue.ROUTING},
    },
    "referral-enforce-sla": {
        "task": "referral.tasks.enforce_sla",
        "schedule": 60.0,
        "options": {"queue": CeleryQueue.ROUTING},
    },
    # Partner import batches left validating, approved or applying by a lost message or a killed worker.
    "referral-sweep-import-batches": {
        "task": "referral.tasks.sweep_import_batches",
        "schedule": 60.0,
        "options": {"queue": CeleryQueue.ROUTING},
    },
    "cases-purge-access-log": {
        "task": "cases.tasks.purge_access_log",
        "schedule": crontab(hour=3, minute=30),
        "options": {"queue": CeleryQueue.STATS},
    },
    "core-purge-idempotency-keys": {
        "task": "core.tasks.purge_idempotency_keys",
        "schedule": crontab(minute=15),
        "options": {"queue": CeleryQueue.NOTIFICATIONS},
    },
    "stats-nightly-rebuild": {
        "task": "stats.tasks.rebuild_recent_months",
        "schedule": crontab(hour=2, minute=0),
        "options": {"queue": CeleryQueue.STATS},
    },
    # Current month's figures at most a few minutes old; dirty months rebuilt even if a message was lost.
    "stats-refresh-current-month": {
        "task": "stats.tasks.refresh_current_month",
        "schedule": 300.0,
        "options": {"queue": CeleryQueue.STATS},
    },
    # Incremental (stats.incremental): cheap, so often; a change made while its month was being refreshed waits
    # for this at most (its own message was not sent: the month was dirty already).
    "stats-refresh-dirty": {
        "task": "stats.tasks.refresh_dirty",
        "schedule": 30.0,
        "options": {"queue": CeleryQueue.STATS},
    },
    # Safe job market: today's Work24 postings every hour (off without WORK24_API_KEY), raw answers purged nightly.
    "jobs-import-work24": {
        "task": "jobs.tasks.import_work24",
        "schedule": crontab(minute=15),
        "options": {"queue": CeleryQueue.STATS},
    },
    # The screening model retrained from reviewers' decisions (a no-op without new decisions).
    "jobs-retrain-classifier": {
        "task": "jobs.tasks.retrain_classifier",
        "schedule": crontab(hour=3, minute=0),
        "options": {"queue": CeleryQueue.STATS},
    },
    "jobs-purge-raw-payloads": {
        "task": "jobs.tasks.purge_raw_payloads",
        "schedule": crontab(hour=4, minute=0),
        "options": {"queue": CeleryQueue.STATS},
    },
    # Retention (docs/privacy.md): what is due proposed as a destruction batch nightly; the access review's flags
    # daily, with the alert when last month is unreviewed; the permission history kept 3 years.
    "privacy-propose-destruction": {
        "task": "privacy.retention_tasks.propose_destruction",
        "schedule": crontab(hour=3, minute=45),
        "options": {"queue": CeleryQueue.STATS},
    },
    "privacy-compute-access-review": {
        "task": "privacy.retention_tasks.compute_access_review",
        "schedule": crontab(hour=1, minute=30),
        "options": {"queue": CeleryQueue.STATS},
    },
    # The person's requests: the due-soon alert, each morning before the centers open.
    "privacy-alert-requests-due": {
        "task": "privacy.retention_tasks.alert_requests_due",
        "schedule": crontab(hour=8, minute=0),
        "options": {"queue": CeleryQueue.STATS},
    },
    "privacy-purge-permission-history": {
        "task": "privacy.retention_tasks.purge_permission_history",
        "schedule": crontab(hour=4, minute=30),
        "options": {"queue": CeleryQueue.STATS},
    },
}
app.conf.beat_schedule = BEAT_SCHEDULE
