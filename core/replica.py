"""The read replica (DATABASE_REPLICA_URL): statistics, dashboards and exports read from it; everything else,
and every write, goes to the primary.

- Only what runs inside `replica_reads` (a decorator on the statistics views and API) reads the replica;
  the router sends every other read to the primary, so no page that shows a person's live data can show a
  stale one.
- A request that wrote reads the primary for the rest of it (the router notices the write), and so do the
  same user's requests for REPLICA_PIN_SECONDS after (ReplicaPinMiddleware keeps a mark in the cache; if
  the cache cannot answer, the request reads the primary).
- The replica is checked at most every REPLICA_CHECK_SECONDS per process: unreachable, or its replay more
  than REPLICA_MAX_LAG_SECONDS behind, and reads go to the primary, with a warning in the log and
  `yeongye_replica_fallbacks_total{reason}`; `yeongye_replica_lag_seconds` is the last lag measured. A
  replica that fails in the middle of a view (stopped after the check) is marked down and the view is run
  again on the primary (only GET and HEAD are ever routed to the replica, so running one again is safe).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

from core.metrics import REPLICA_FALLBACKS, REPLICA_LAG

logger = logging.getLogger(__name__)

REPLICA = "replica"
PRIMARY = "default"

# Seconds the replica's replay is behind: 0 when it has replayed all it received, otherwise the time since
# the last transaction it replayed (an upper bound: conservative, it errs towards the primary).
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""

_reading: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_reading", default=False)
_wrote: contextvars.ContextVar[bool] = contextvars.ContextVar("replica_wrote", default=False)


def configured() -> bool:
    return REPLICA in connections.settings


def reading_replica() -> bool:
    """True while a replica_reads view runs and its reads go to the replica."""
    return _reading.get() and not _wrote.get()


class ReplicaRouter:
    """Reads inside replica_reads (until the request writes) → replica; everything else → primary."""

    def db_for_read(self, model: type, **hints: Any) -> str:
        return REPLICA if reading_replica() else PRIMARY

    def db_for_write(self, model: type, **hints: Any) -> str:
        _wrote.set(True)
        return PRIMARY

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:  # noqa: ANN401 - model instances
        return True  # the two hold the same rows

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA


# --- Health, per process ------------------------------------------------------------------------------


@dataclass
class _Health:
    checked_at: float = float("-inf")
    usable: bool = False


_health = _Health()
_health_lock = threading.RLock()  # replica_usable marks it down while holding it


def forget_health() -> None:
    """The next request checks the replica again (tests; a replica just repaired)."""
    with _health_lock:
        _health.checked_at = float("-inf")


def _fallback(reason: str, message: str, *args: Any) -> None:
    REPLICA_FALLBACKS.labels(reason=reason).inc()
    logger.warning(message, *args)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _close_replica() -> None:
    try:
        connections[REPLICA].close()
    except DatabaseError:
        pass  # a dead connection cannot be closed cleanly; it is dropped all the same


def _replica_answers() -> bool:
    _close_replica()
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        _close_replica()
        return False


def _mark_down(exc: BaseException) -> None:
    with _health_lock:
        _health.checked_at, _health.usable = time.monotonic(), False
    _fallback("down", "replica unreachable, reading the primary: %s", _first_line(exc))


def replica_usable() -> bool:
    """Whether the replica answers and is within the lag limit; measured at most every REPLICA_CHECK_SECONDS."""
    now = time.monotonic()
    if now - _health.checked_at < settings.REPLICA_CHECK_SECONDS:
        return _health.usable
    with _health_lock:
        if now - _health.checked_at < settings.REPLICA_CHECK_SECONDS:
            return _health.usable
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute(LAG_SQL)
                row = cursor.fetchone()
            lag = float(row[0] if row and row[0] is not None else 0)
        except DatabaseError as exc:
            _close_replica()
            _mark_down(exc)
            return False
        REPLICA_LAG.set(lag)
        usable = lag <= settings.REPLICA_MAX_LAG_SECONDS
        if not usable:
            _fallback(
                "lag", "replica %.1f s behind (limit %s s), reading the primary", lag, settings.REPLICA_MAX_LAG_SECONDS
            )
        _health.checked_at, _health.usable = time.monotonic(), usable
        return usable


# --- A user's reads follow their own writes -------------------------------------------------------------


def _pin_key(user_id: int) -> str:
    return f"replica:pin:{user_id}"


def _pinned(request: HttpRequest) -> bool:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    try:
        return bool(cache.get(_pin_key(user.pk)))
    except Exception:  # noqa: BLE001 - any cache failure: read the primary, the safe side
        return True


class ReplicaPinMiddleware:
    """After AuthenticationMiddleware: a request starts unwritten (or pinned to the primary if this user wrote
    in the last REPLICA_PIN_SECONDS); a request that wrote pins the user's next requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not configured():
            return self.get_response(request)
        token = _wrote.set(_pinned(request))
        try:
            response = self.get_response(request)
            user = getattr(request, "user", None)
            if _wrote.get() and user is not None and user.is_authenticated:
                try:
                    cache.set(_pin_key(user.pk), 1, timeout=settings.REPLICA_PIN_SECONDS)
                except Exception:  # noqa: BLE001 - best effort: the pin is a freshness courtesy
                    logger.warning("replica: could not pin user %s to the primary", user.pk)
            return response
        finally:
            _wrote.reset(token)


def replica_reads[F: Callable[..., Any]](view: F) -> F:
    """Run a read-only view's reads on the replica when it is usable (see the module's docstring)."""

    @functools.wraps(view)
    def wrapped(request: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401 - a view's response
        if request.method not in ("GET", "HEAD") or not configured() or _wrote.get() or not replica_usable():
            return view(request, *args, **kwargs)
        token = _reading.set(True)
        try:
            return view(request, *args, **kwargs)
        except (OperationalError, InterfaceError) as exc:
            # The connection failed (the replica stopped since the check) or the replica cancelled the query
            # (a conflict with recovery): run the view again on the primary. A view's own mistake
            # (ProgrammingError, DataError) is not caught: it would fail on the primary alike.
            if _replica_answers():
                _fallback("error", "replica query failed, reading the primary: %s", _first_line(exc))
            else:
                _mark_down(exc)
        finally:
            _reading.reset(token)
        return view(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]
