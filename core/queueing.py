"""Enqueueing after commit without ever failing the request when the broker is down."""

from __future__ import annotations

import logging
from typing import Any

from django.db import InterfaceError, OperationalError, transaction

logger = logging.getLogger(__name__)


def delay_safely(task: Any, *args: Any) -> bool:
    """`task.delay(*args)`; a broker outage is logged, not raised: the sweeper re-enqueues from the database."""
    try:
        task.delay(*args)
    except Exception:  # kombu/redis raise many types for "broker unreachable"; none may reach the user.
        logger.warning(
            "could not enqueue %s%r; the sweeper will retry", getattr(task, "name", task), args, exc_info=True
        )
        return False
    return True


def enqueue_on_commit(task: Any, *args: Any) -> None:
    transaction.on_commit(lambda: delay_safely(task, *args))


# A dropped or refused database connection (a failover, a restart) is worth another try; nothing else is.
DATABASE_HICCUPS = (OperationalError, InterfaceError)


def task_options(soft: int, hard: int | None = None, *, retries: int = 0, **extra: Any) -> dict[str, Any]:
    """The options every task of ours shares, stated once (`@shared_task(name=..., **task_options(...))`).

    Every task is idempotent, so each is acknowledged only after it ran and a message whose worker died is
    delivered again (`acks_late`, `reject_on_worker_lost`). `soft` seconds raise SoftTimeLimitExceeded in the
    task; `hard` (default: a minute later, at most twice `soft`) kills it. With `retries`, a dropped database
    connection is retried that many times with exponential back-off capped at a minute. The broker's
    visibility_timeout (settings) must exceed the longest `hard` plus that minute: config/tests/test_faults.py
    checks it over every registered task.
    """
    options: dict[str, Any] = {
        "acks_late": True,
        "reject_on_worker_lost": True,
        "soft_time_limit": soft,
        "time_limit": hard if hard is not None else soft + min(60, soft),
        "ignore_result": True,
    }
    if retries:
        options |= {
            "autoretry_for": DATABASE_HICCUPS,
            "retry_backoff": True,
            "retry_backoff_max": RETRY_BACKOFF_MAX,
            "max_retries": retries,
        }
    return options | extra


RETRY_BACKOFF_MAX = 60
