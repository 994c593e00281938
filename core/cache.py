"""The cache as a best-effort dependency: a Redis outage degrades, it never fails a request.

Only DRF's throttles keep state in the cache (sessions and django-axes lockouts are in PostgreSQL), so the
degraded mode is a per-process one: while Redis is unreachable every operation is served by a small
in-memory cache of this process, which keeps throttling working per process (a web node with P processes
then allows up to P times the configured rate) instead of failing open or raising. Each degraded operation
is counted in `yeongye_cache_degraded_operations_total`; a warning is logged when Redis is found
unreachable and an info line when it answers again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

from core.metrics import CACHE_DEGRADED

logger = logging.getLogger(__name__)

T = TypeVar("T")

# After a failure, Redis is tried again this long later; in between, no request waits on a dead socket.
RETRY_AFTER_SECONDS = 2.0

# Without these, redis-py retries a refused connection 3 times with back-off (seconds per request) and a
# blackholed host waits for the OS's TCP timeout. One immediate retry survives a Redis restart that closed
# the pooled connections.
_FAST_FAIL_OPTIONS: dict[str, Any] = {
    "socket_connect_timeout": 0.5,
    "socket_timeout": 0.5,
    "retry": Retry(NoBackoff(), 1),
}


@dataclass
class _Outage:
    """Per process and Redis location, shared by the threads: Django gives each thread its own cache
    object, and a per-thread state would multiply the fallback throttle limit by the thread count."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    degraded: bool = False
    retry_at: float = 0.0


_outages: dict[str, _Outage] = {}
_outages_lock = threading.Lock()


def _outage_for(location: str) -> _Outage:
    with _outages_lock:
        return _outages.setdefault(location, _Outage())


class FailSoftRedisCache(RedisCache):
    """Django's RedisCache whose operations fall back to process memory while Redis is unreachable."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        params = {**params, "OPTIONS": {**_FAST_FAIL_OPTIONS, **params.get("OPTIONS", {})}}
        super().__init__(server, params)
        location = server if isinstance(server, str) else ",".join(server)
        self._outage = _outage_for(location)
        # LocMemCache objects of one name share their storage: every thread of the process sees one fallback.
        self._fallback = LocMemCache(
            f"failsoft:{location}",
            {
                "TIMEOUT": params.get("TIMEOUT", 300),
                "KEY_PREFIX": params.get("KEY_PREFIX", ""),
                "VERSION": params.get("VERSION", 1),
                "OPTIONS": {"MAX_ENTRIES": 10_000},
            },
        )

    @property
    def degraded(self) -> bool:
        """True while operations are served from process memory."""
        return self._outage.degraded

    def _call(self, operation: str, primary: Callable[[], T], fallback: Callable[[], T]) -> T:
        outage = self._outage
        if outage.degraded and time.monotonic() < outage.retry_at:
            CACHE_DEGRADED.labels(operation=operation).inc()
            return fallback()
        try:
            result = primary()
        except RedisError as exc:
            with outage.lock:
                was_degraded, outage.degraded = outage.degraded, True
                outage.retry_at = time.monotonic() + RETRY_AFTER_SECONDS
            CACHE_DEGRADED.labels(operation=operation).inc()
            if not was_degraded:
                logger.warning(
                    "cache unreachable (%s during %s); serving from process memory, retrying every %.0f s",
                    type(exc).__name__,
                    operation,
                    RETRY_AFTER_SECONDS,
                )
            return fallback()
        if outage.degraded:
            with outage.lock:
                was_degraded, outage.degraded = outage.degraded, False
            if was_degraded:
                # What was kept in memory is not carried into Redis nor into the next outage.
                self._fallback.clear()
                logger.info("cache reachable again; process-memory fallback left")
        return result

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(
            "add",
            lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version),
            lambda: self._fallback.add(key, value, timeout, version),
        )

    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        return self._call(
            "get",
            lambda: super(FailSoftRedisCache, self).get(key, default, version),
            lambda: self._fallback.get(key, default, version),
        )

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> None:
        self._call(
            "set",
            lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version),
            lambda: self._fallback.set(key, value, timeout, version),
        )

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> bool:
        return self._call(
            "touch",
            lambda: super(FailSoftRedisCache, self).touch(key, timeout, version),
            lambda: self._fallback.touch(key, timeout, version),
        )

    def delete(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            "delete",
            lambda: super(FailSoftRedisCache, self).delete(key, version),
            lambda: self._fallback.delete(key, version),
        )

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        return self._call(
            "get_many",
            lambda: super(FailSoftRedisCache, self).get_many(keys, version),
            lambda: self._fallback.get_many(keys, version),
        )

    def has_key(self, key: Any, version: int | None = None) -> bool:
        return self._call(
            "has_key",
            lambda: super(FailSoftRedisCache, self).has_key(key, version),
            lambda: self._fallback.has_key(key, version),
        )

    def incr(self, key: Any, delta: int = 1, version: int | None = None) -> int:
        return self._call(
            "incr",
            lambda: super(FailSoftRedisCache, self).incr(key, delta, version),
            lambda: self._fallback.incr(key, delta, version),
        )

    def set_many(self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: int | None = None) -> list[Any]:
        return self._call(
            "set_many",
            lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version),
            lambda: self._fallback.set_many(data, timeout, version),
        )

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        self._call(
            "delete_many",
            lambda: super(FailSoftRedisCache, self).delete_many(keys, version),
            lambda: self._fallback.delete_many(keys, version),
        )

    def clear(self) -> None:
        self._fallback.clear()
        self._call("clear", lambda: super(FailSoftRedisCache, self).clear(), lambda: None)
