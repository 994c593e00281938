"""Operations against real services: a Redis of the test's own (cache and broker) stopped mid-run under
concurrent API clients; /healthz and /metrics with a real worker; request ids reaching the worker's logs."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from core.tests.conftest import RedisServer
from referral.models import Referral
from referral.tasks import sweep_unrouted
from referral.tests.conftest import _back_to_eager, _db_url, _use_broker, wait_for
from referral.tests.factories import case_with_consent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/v1/referrals/"
SERVICES = ["debt_adjustment", "kesp", "basic_livelihood", "policy_microloan", "credit_counseling"]


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def worker(tmp_path: Path, transactional_db: None) -> Iterator[dict]:
    """`start(broker_url)`: a worker on every queue, logging JSON at INFO into a file the test reads."""
    state: dict = {"proc": None, "log": tmp_path / "worker.log"}

    def start(broker_url: str) -> subprocess.Popen:
        _use_broker(broker_url)
        env = {
            **os.environ,
            "CELERY_BROKER_URL": broker_url,
            "DATABASE_URL": _db_url(),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            "LOG_FORMAT": "json",
        }
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        log = state["log"].open("w")
        proc = subprocess.Popen(
            [celery, "-A", "config", "worker", "-Q", "routing,notifications,stats", "-c", "2", "--pool", "threads"]
            + ["--without-gossip", "--without-mingle", "-l", "info"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        state["proc"] = proc
        return proc

    state["start"] = start
    yield state
    proc = state["proc"]
    if proc is not None and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
    _back_to_eager()


def _routed_once(ids: list[int]) -> bool:
    refs = Referral.objects.filter(pk__in=ids, to_desk__isnull=False)
    return refs.count() == len(ids)


def test_a_redis_outage_under_concurrent_clients_fails_no_request_and_loses_or_doubles_no_referral(
    settings, counselor, redis_server, worker
):
    settings.CACHES = {"default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": redis_server.url}}
    worker["start"](redis_server.url)
    cases: queue.Queue[int] = queue.Queue()
    for _ in range(60):
        cases.put(case_with_consent(counselor).pk)
    statuses: list[int] = []
    ids: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client_loop(n: int) -> None:
        api = APIClient()
        api.force_authenticate(counselor)  # the user throttle reads and writes the cache on every request
        try:
            while not stop.is_set():
                try:
                    case = cases.get_nowait()
                except queue.Empty:
                    return
                resp = api.post(URL, {"case": case, "service": SERVICES[case % 5]}, format="json")
                with lock:
                    statuses.append(resp.status_code)
                    if resp.status_code == 201:
                        ids.append(resp.json()["id"])
                time.sleep(0.05)
        finally:
            connection.close()

    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    redis_server.stop()
    down_at = len(statuses)
    time.sleep(3.0)
    redis_server.start()
    up_at = len(statuses)
    for t in threads:
        t.join(timeout=120)
    print(f"{len(statuses)} requests, {up_at - down_at} while Redis was down")

    assert up_at > down_at, "no request ran during the outage"
    assert [s for s in statuses if s >= 500] == []
    assert set(statuses) == {201}, statuses

    def swept_and_routed() -> bool:
        # What beat does every 30 s: a minute later the referrals count as stuck and are enqueued again.
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=True):
            sweep_unrouted()
        return wait_for(lambda: _routed_once(ids), timeout=5)

    assert wait_for(swept_and_routed, timeout=120, interval=1), "referrals were lost in the outage"
    time.sleep(1)  # a duplicate delivery, if any, would have written its second route event by now
    for r in Referral.objects.filter(pk__in=ids).prefetch_related("events"):
        kinds = [e.kind for e in r.events.all()]
        assert kinds.count("route") == 1, (r.pk, kinds)
    assert len(ids) == len(set(ids)) == 60


def test_healthz_metrics_and_request_ids_with_a_real_worker(settings, counselor, redis_server, worker):
    settings.CACHES = {"default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": redis_server.url}}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = redis_server.url
    worker["start"](redis_server.url)
    client = Client()

    def healthy() -> bool:
        return client.get("/healthz").status_code == 200

    assert wait_for(healthy, timeout=60, interval=1), client.get("/healthz").json()
    assert set(client.get("/healthz").json()["checks"]) == {"database", "cache", "broker", "celery"}

    # The request id of the API call shows on the worker's log lines of the routing task it enqueued.
    api = APIClient()
    api.force_authenticate(counselor)
    resp = api.post(
        URL,
        {"case": case_with_consent(counselor).pk, "service": "kesp"},
        format="json",
        HTTP_X_REQUEST_ID="req-trace-42",
    )
    assert resp.status_code == 201 and resp["X-Request-ID"] == "req-trace-42"
    assert wait_for(lambda: _routed_once([resp.json()["id"]]), timeout=30)

    def task_logged() -> bool:
        for line in worker["log"].read_text().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if record.get("request_id") == "req-trace-42" and "referral.tasks.route_referral" in record["message"]:
                return True
        return False

    assert wait_for(task_logged, timeout=10), worker["log"].read_text()[-3000:]

    samples = client.get("/metrics").content.decode()
    assert 'yeongye_celery_queue_depth{queue="routing"} 0.0' in samples
    assert "yeongye_broker_up 1.0" in samples

    redis_server.stop()
    started = time.monotonic()
    down = client.get("/healthz")
    elapsed = time.monotonic() - started
    assert down.status_code == 503
    assert down.json()["failed"] == ["broker", "cache", "celery"]
    assert "broker unreachable" in down.json()["checks"]["celery"]
    assert elapsed < 10
    assert "yeongye_broker_up 0.0" in client.get("/metrics").content.decode()
