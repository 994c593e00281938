"""/metrics: Prometheus exposition, for scrapers on METRICS_ALLOWED_NETWORKS or holding METRICS_TOKEN.

Two kinds of series: those the code counts as it runs (core.metrics: request latency per view, cache
degradations), and those read at scrape time from PostgreSQL and the broker (`ProductCollector`: queue
depths, routing latency, open SLA breaches, statistics freshness), which every web node answers alike.
"""

from __future__ import annotations

import datetime as dt
import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from functools import lru_cache

import redis
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from config.celery import CeleryQueue
from referral.models import OPEN_STATUSES, Referral, Status
from stats.models import MonthState

logger = logging.getLogger(__name__)

# Routing latency is read over the referrals routed in this window (a gauge per quantile, not a histogram:
# the worker that routes is another process than the one scraped).
ROUTING_WINDOW = dt.timedelta(minutes=15)
ROUTING_SAMPLE = 5000
QUANTILES = (0.5, 0.95, 0.99)


def _quantile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


class ProductCollector(Collector):
    """Series read at scrape time; a dependency that does not answer shows as `*_up 0`, not a 500."""

    def collect(self) -> Iterator[Metric]:
        yield from self._broker()
        yield from self._database()

    def _broker(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("yeongye_broker_up", "1 when the Celery broker (Redis) answered this scrape.")
        if settings.CELERY_TASK_ALWAYS_EAGER:
            return  # tasks run in-process: there is no queue
        depth = GaugeMetricFamily(
            "yeongye_celery_queue_depth", "Messages waiting in each Celery queue (not yet taken).", labels=["queue"]
        )
        try:
            client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=1)
            try:
                for queue in CeleryQueue:
                    depth.add_metric([queue.value], float(client.llen(queue.value)))
            finally:
                client.close()
        except redis.RedisError as exc:
            logger.warning("metrics: broker unreachable (%s)", exc)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield depth

    def _database(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("yeongye_database_up", "1 when PostgreSQL answered this scrape's queries.")
        try:
            metrics = list(self._from_database())
        except DatabaseError:
            logger.warning("metrics: database unreachable", exc_info=True)
            up.add_metric([], 0.0)
            yield up
            return
        up.add_metric([], 1.0)
        yield up
        yield from metrics

    def _from_database(self) -> Iterator[Metric]:
        now = timezone.now()
        routed = list(
            Referral.objects.filter(routed_at__gte=now - ROUTING_WINDOW, routed_at__isnull=False)
            .order_by("-routed_at")
            .values_list("created_at", "routed_at")[:ROUTING_SAMPLE]
        )
        waits = sorted((routed_at - created_at).total_seconds() for created_at, routed_at in routed if routed_at)
        latency = GaugeMetricFamily(
            "yeongye_routing_latency_seconds",
            "Create → at a desk, over the referrals routed in the last 15 minutes, per quantile.",
            labels=["quantile"],
        )
        for q in QUANTILES:
            if waits:
                latency.add_metric([str(q)], _quantile(waits, q))
        yield latency
        yield GaugeMetricFamily(
            "yeongye_routing_routed_recent", "Referrals routed in the last 15 minutes.", value=float(len(waits))
        )
        oldest_unrouted = Referral.objects.filter(status=Status.REQUESTED, to_desk__isnull=True).aggregate(
            at=Min("created_at")
        )["at"]
        yield GaugeMetricFamily(
            "yeongye_routing_oldest_unrouted_age_seconds",
            "Age of the oldest referral still waiting for a desk (0 when none waits).",
            value=(now - oldest_unrouted).total_seconds() if oldest_unrouted else 0.0,
        )
        breaches = GaugeMetricFamily(
            "yeongye_sla_breaches_open",
            "Open referrals past a due time, per step (accept, first contact, close).",
            labels=["step"],
        )
        routed_refs = Referral.objects.filter(to_desk__isnull=False)
        breaches.add_metric(
            ["accept"], float(routed_refs.filter(status=Status.REQUESTED, accept_due_at__lt=now).count())
        )
        breaches.add_metric(
            ["contact"], float(routed_refs.filter(status=Status.ACCEPTED, contact_due_at__lt=now).count())
        )
        breaches.add_metric(
            ["close"], float(routed_refs.filter(status__in=OPEN_STATUSES, close_due_at__lt=now).count())
        )
        yield breaches
        dirty = MonthState.objects.filter(dirty_since__isnull=False).aggregate(oldest=Min("dirty_since"))["oldest"]
        yield GaugeMetricFamily(
            "yeongye_stats_oldest_dirty_age_seconds",
            "How long the statistics of the oldest changed month have waited for a rebuild (0 when fresh).",
            value=(now - dirty).total_seconds() if dirty else 0.0,
        )
        yield GaugeMetricFamily(
            "yeongye_stats_dirty_months",
            "Months whose statistics wait for a rebuild.",
            value=float(MonthState.objects.filter(dirty_since__isnull=False).count()),
        )


class _ThisProcess(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def _registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # every gunicorn process's counters, added up
    else:
        registry.register(_ThisProcess())
    registry.register(ProductCollector())
    return registry


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in configured)


def scraper_allowed(request: HttpRequest) -> bool:
    """The bearer token, when one is configured, or the peer address (never X-Forwarded-For: a client can
    write it) inside METRICS_ALLOWED_NETWORKS."""
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].encode(), token.encode()):
        return True
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in network for network in _networks(tuple(settings.METRICS_ALLOWED_NETWORKS)))


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scraper_allowed(request):
        response = HttpResponse("Forbidden: metrics are for the configured scrapers.\n", status=403)
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
