"""/healthz: is this node able to serve? Database, Redis (cache and broker) and a Celery worker heartbeat,
each probed by django-health-check; 200 when all pass, 503 naming the checks that failed.

Public and cheap on purpose (a load balancer polls it): it tells which dependency is down, never data.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

import redis.asyncio
from django.conf import settings
from django.http import HttpRequest, JsonResponse
from health_check.base import HealthCheck
from health_check.checks import Cache, Database
from health_check.contrib.celery import Ping
from health_check.contrib.redis import Redis
from health_check.exceptions import ServiceUnavailable
from health_check.views import HealthCheckView
from kombu.exceptions import KombuError
from redis.exceptions import RedisError

from config.celery import CeleryQueue


@dataclasses.dataclass
class WorkerHeartbeat(Ping):
    """A worker answered the ping, and every queue of CeleryQueue has a worker consuming it (the
    library's own check knows only the default queue: our queues are created by the task routes)."""

    def run(self) -> None:
        try:
            super().run()
        except (KombuError, RedisError) as exc:  # the library expects OSError; kombu and redis-py raise their own
            raise ServiceUnavailable(f"broker unreachable ({type(exc).__name__})") from exc

    def check_active_queues(self, *active_workers: str) -> None:
        answers = self.app.control.inspect(list(active_workers), timeout=self.timeout.total_seconds()).active_queues()
        served = {queue.get("name") for queues in (answers or {}).values() for queue in queues}
        missing = sorted(q.value for q in CeleryQueue if q.value not in served)
        if missing:
            raise ServiceUnavailable(f"no worker consumes {', '.join(missing)}")


def _redis(url: str) -> Redis:
    return Redis(client_factory=lambda: redis.asyncio.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1))


def health_checks() -> dict[str, HealthCheck]:
    """What this deployment depends on: the broker and worker only when tasks do not run in-process."""
    checks: dict[str, HealthCheck] = {"database": Database()}
    cache = settings.CACHES["default"]
    if str(cache.get("LOCATION", "")).startswith(("redis://", "rediss://", "unix://")):
        # Redis itself: the cache backend would answer from process memory (core/cache.py).
        checks["cache"] = _redis(str(cache["LOCATION"]).split(",")[0])
    else:
        checks["cache"] = Cache()
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        from config.celery import app

        checks["broker"] = _redis(settings.CELERY_BROKER_URL)
        checks["celery"] = WorkerHeartbeat(
            app=app, timeout=dt.timedelta(seconds=settings.HEALTH_CELERY_TIMEOUT_SECONDS)
        )
    return checks


class HealthView(HealthCheckView):
    """The library's view answers 500 and renders HTML by default; a probe wants 503 and JSON."""

    def checks_to_run(self) -> dict[str, HealthCheck]:
        return health_checks()

    async def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        checks = self.checks_to_run()
        results = await asyncio.gather(*(check.get_result(None) for check in checks.values()))
        report = {name: (str(r.error) if r.error else "ok") for name, r in zip(checks, results, strict=True)}
        failed = sorted(name for name, status in report.items() if status != "ok")
        body = {"status": "fail" if failed else "ok", "failed": failed, "checks": report}
        return JsonResponse(body, status=503 if failed else 200)


class LiveView(HealthView):
    """/livez, for a load balancer or Compose deciding whether to send this node requests: the database
    only. A Redis or worker outage must not take every web node out of rotation at once: requests are
    served through both (the cache degrades, the sweeper re-enqueues); /healthz says what is degraded."""

    def checks_to_run(self) -> dict[str, HealthCheck]:
        return {"database": Database()}
