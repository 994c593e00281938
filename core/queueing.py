"""Enqueueing after commit without ever failing the request when the broker is down."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

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
