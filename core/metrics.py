"""Prometheus metrics that the code itself counts (the ones read from the database or the broker at
scrape time are collected by config.metrics). With gunicorn's several processes, set
PROMETHEUS_MULTIPROC_DIR to an empty directory so every process's counts are added up at /metrics."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from prometheus_client import Counter, Gauge, Histogram

REQUEST_LATENCY = Histogram(
    "yeongye_http_request_duration_seconds",
    "Time from the first middleware to the response, per view (URL name), method and status class.",
    ["view", "method", "status"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CACHE_DEGRADED = Counter(
    "yeongye_cache_degraded_operations",
    "Cache operations served from process memory because Redis was unreachable.",
    ["operation"],
)
THROTTLE_FAIL_OPEN = Counter(
    "yeongye_throttle_fail_open",
    "Requests let through because the throttle could not read its counters.",
    ["scope"],
)

REPLICA_LAG = Gauge(
    "yeongye_replica_lag_seconds",
    "How far the read replica's replay was behind at this process's last check (core.replica).",
    multiprocess_mode="max",
)
REPLICA_FALLBACKS = Counter(
    "yeongye_replica_fallbacks",
    "Reads meant for the replica that went to the primary: down (unreachable), lag (too far behind), "
    "error (a query the replica cancelled).",
    ["reason"],
)

STATS_MISMATCHES = Counter(
    "yeongye_stats_incremental_mismatches",
    "Months whose incrementally kept cells differed from a rebuild (or could not be moved): rebuilt whole.",
)


class RequestMetricsMiddleware:
    """Times each request; first in MIDDLEWARE so the latency includes every other middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        # The URL name, never the path: paths carry ids and would make one series per referral.
        view = (match.view_name or match.route) if match is not None else "<unresolved>"
        REQUEST_LATENCY.labels(
            view=view, method=request.method or "", status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response
