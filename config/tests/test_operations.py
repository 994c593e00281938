"""/healthz, /metrics and request ids as an operator sees them."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from core.tests.conftest import free_port
from referral import services
from referral.models import Referral
from referral.tests.factories import case_with_consent
from stats.models import MonthState

ROOT = Path(__file__).resolve().parents[2]


def _samples(text: str) -> dict[str, float]:
    """`name{labels}` → value of a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


# --- /healthz -------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_200_when_the_database_and_cache_answer():
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"] == {"database": "ok", "cache": "ok"}  # in-process tasks: no broker, no worker
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db(transaction=True)
def test_healthz_answers_503_naming_the_redis_that_is_down(settings):
    dead = f"redis://127.0.0.1:{free_port()}/0"
    settings.CACHES = {"default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": dead}}
    response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["cache"]
    assert "Unavailable" in body["checks"]["cache"] and body["checks"]["database"] == "ok"


# --- /metrics -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_refuse_an_outside_address_without_the_token(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = "s3cret-scrape-token"
    outside = Client(REMOTE_ADDR="203.0.113.9")
    assert outside.get("/metrics").status_code == 403
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong-token").status_code == 403
    # A forwarded-for header is the client's own writing: it opens nothing.
    assert outside.get("/metrics", HTTP_X_FORWARDED_FOR="10.1.2.3").status_code == 403
    assert outside.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200
    assert Client(REMOTE_ADDR="10.20.30.40").get("/metrics").status_code == 200


@pytest.mark.django_db
def test_metrics_without_a_token_configured_accept_no_bearer_at_all(settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    settings.METRICS_TOKEN = ""
    assert Client(REMOTE_ADDR="203.0.113.9").get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 403


@pytest.mark.django_db
def test_metrics_show_request_latency_routing_sla_breaches_and_statistics_age(counselor, api_for):
    api = api_for(counselor)
    assert api.get("/api/v1/services/").status_code == 200
    referral = services.referral_create(by=counselor, case_id=case_with_consent(counselor).pk, service_code="kesp")
    services.referral_route(referral_id=referral.pk)
    # Routed four seconds after it was asked for, and now past its accept due time.
    now = timezone.now()
    Referral.objects.filter(pk=referral.pk).update(
        created_at=now - dt.timedelta(seconds=4), routed_at=now, accept_due_at=now - dt.timedelta(minutes=1)
    )
    MonthState.objects.update_or_create(
        month=now.date().replace(day=1), defaults={"dirty_since": now - dt.timedelta(minutes=10)}
    )

    response = Client().get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = _samples(response.content.decode())
    assert samples['yeongye_http_request_duration_seconds_count{method="GET",status="2xx",view="service-list"}'] >= 1
    assert samples['yeongye_routing_latency_seconds{quantile="0.5"}'] == pytest.approx(4, abs=0.5)
    assert samples["yeongye_routing_routed_recent"] == 1
    assert samples['yeongye_sla_breaches_open{step="accept"}'] == 1
    assert samples['yeongye_sla_breaches_open{step="contact"}'] == 0
    assert samples["yeongye_stats_oldest_dirty_age_seconds"] == pytest.approx(600, abs=30)
    assert samples["yeongye_database_up"] == 1
    # In-process tasks: no broker, so no queue series (with a broker: test_operations_worker.py).
    assert not any(key.startswith("yeongye_celery_queue_depth") for key in samples)


def test_metrics_settings_refuse_a_network_that_is_not_one():
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_DEBUG": "1",
        "METRICS_ALLOWED_NETWORKS": "10.0.0.0/8,not-a-network",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode != 0 and "not-a-network" in result.stderr


# --- Request ids and JSON logs --------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_id_from_the_proxy_is_echoed_and_a_missing_or_forged_one_is_replaced():
    client = Client()
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-2f1c9a7e-0001")["X-Request-ID"] == "lb-2f1c9a7e-0001"
    generated = client.get("/healthz")["X-Request-ID"]
    assert len(generated) == 32 and generated != client.get("/healthz")["X-Request-ID"]
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" level="CRITICAL')["X-Request-ID"]
    assert forged != 'x" level="CRITICAL' and len(forged) == 32


def _log_lines_of_a_404(log_format: str) -> list[str]:
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "Client().get('/no-such-page/', HTTP_X_REQUEST_ID='trace-1234-abcd')\n"
    )
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "LOG_FORMAT": log_format,
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stderr.splitlines() if line.strip()]


def test_json_logs_are_one_object_a_line_with_the_request_id():
    records = [json.loads(line) for line in _log_lines_of_a_404("json")]
    not_found = [r for r in records if r["logger"] == "django.request"]
    assert not_found, records
    assert not_found[0]["request_id"] == "trace-1234-abcd"
    assert not_found[0]["level"] == "WARNING" and "/no-such-page/" in not_found[0]["message"]
    assert {"time", "level", "logger", "message", "request_id"} <= set(not_found[0])


def test_text_logs_carry_the_request_id_too():
    lines = _log_lines_of_a_404("text")
    assert any("[trace-1234-abcd]" in line and "Not Found" in line for line in lines), lines


@pytest.mark.django_db(transaction=True)
def test_livez_asks_only_the_database_so_a_redis_outage_keeps_the_node_in_rotation(settings):
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }
    assert Client().get("/healthz").status_code == 503
    response = Client().get("/livez")
    assert response.status_code == 200 and response.json()["checks"] == {"database": "ok"}
