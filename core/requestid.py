"""A request id on every log line of a request and of the Celery tasks it enqueues.

The id comes from the X-Request-ID header (a proxy's) when it is a plausible token, else a new one; it is
echoed in the response, put on every log record by `RequestIdFilter`, and carried to Celery in a message
header so the worker's log lines of that task show the same id.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse

HEADER = "X-Request-ID"
CELERY_HEADER = "request_id"
NO_REQUEST = "-"

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)
# A client's id is copied into logs: only short tokens, so it cannot forge log lines or carry personal data.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:-]{8,128}")
_task_tokens: dict[str, contextvars.Token[str]] = {}

logger = logging.getLogger(__name__)


def current() -> str:
    return _current.get()


class RequestIdMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(HEADER, "")
        request_id = incoming if _ACCEPTABLE.fullmatch(incoming) else uuid.uuid4().hex
        # Not reset on the way out: Django logs a 4xx/5xx ("Not Found: …") after the middleware returned.
        # `request_finished` clears it once the response is closed.
        _current.set(request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _clear(**_: Any) -> None:
    _current.set(NO_REQUEST)


request_finished.connect(_clear, dispatch_uid="core.requestid.clear")


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (`-` outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _current.get()
        return True


# --- Celery signal receivers (connected in config/celery.py) ---


def add_request_id_header(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """before_task_publish: the publishing request's id travels in the message headers."""
    request_id = _current.get()
    if headers is not None and request_id != NO_REQUEST:
        headers.setdefault(CELERY_HEADER, request_id)


def enter_task(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """task_prerun: the task's log lines carry the id of the request that enqueued it."""
    request_id = getattr(getattr(task, "request", None), CELERY_HEADER, None)
    if not request_id or not task_id:
        return  # eager (in-request) tasks keep the request's own id
    _task_tokens[task_id] = _current.set(str(request_id))
    logger.info("task %s started for request %s", getattr(task, "name", "?"), request_id)


def leave_task(task_id: str | None = None, **_: Any) -> None:
    """task_postrun."""
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            _current.reset(token)
        except ValueError:  # postrun in another context than prerun (a pool that switches threads)
            _current.set(NO_REQUEST)
