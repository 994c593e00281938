"""Fixtures for referral tests, reusable by other apps: a real Celery worker on a real Redis."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def _db_url() -> str:
    """The URL of the database the tests are using (the `test_...` one while pytest-django runs)."""
    s = connection.settings_dict
    user = s.get("USER") or "postgres"
    password = f":{s['PASSWORD']}" if s.get("PASSWORD") else ""
    return f"postgres://{user}{password}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{s['NAME']}"


def _use_broker(url: str) -> None:
    """Point this test process's Celery app at a real broker (the suite runs tasks eagerly by default)."""
    from config.celery import app

    app.conf.task_always_eager = False
    app.conf.broker_url = url  # type: ignore[misc]
    _reset_pools(app)


def _reset_pools(app) -> None:
    """Drop cached broker connections and producers so the next publish connects to the current URL."""
    pool = app._pool
    if pool is not None:
        try:
            pool.force_close_all()
        except Exception:  # noqa: S110 - best effort when the broker is already gone
            pass
    app._pool = None
    app.amqp._producer_pool = None
    # kombu keeps a process-wide pool per broker URL: drop it too, or a second switch to the same URL
    # would hand back the pool just closed ("Acquire on closed pool").
    from kombu import pools

    pools.reset()


def _back_to_eager() -> None:
    from config.celery import app

    app.conf.task_always_eager = True
    app.conf.broker_url = ""  # type: ignore[misc]
    _reset_pools(app)


@pytest.fixture
def celery_worker_on(transactional_db: None, tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen]]:
    """`start(broker_url)` runs `celery -A config worker -Q routing,notifications` against the test database.

    Needs `@pytest.mark.django_db(transaction=True)`: the worker is another process and only sees committed rows.
    """
    procs: list[subprocess.Popen] = []
    # The shared test Redis db is the tests' own: drop messages an earlier (interrupted) run left
    # there before this test enqueues anything, or a worker would act on ids of another test
    # database. (`own_redis` servers start empty.)
    redis.Redis.from_url(os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")).flushdb()

    def start(broker_url: str, extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        _use_broker(broker_url)
        env = {
            **os.environ,
            **(extra_env or {}),
            "CELERY_BROKER_URL": broker_url,
            "DATABASE_URL": _db_url(),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        }
        celery = shutil.which("celery", path=str(Path(sys.executable).parent)) or "celery"
        proc = subprocess.Popen(
            [
                celery,
                "-A",
                "config",
                "worker",
                "-Q",
                "routing,notifications",
                "-c",
                "2",
                "--pool",
                "threads",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "warning",
            ],
            cwd=ROOT,
            env=env,
            # A file, not a pipe nobody reads: a worker that logs more than the pipe holds would block.
            stdout=(tmp_path / f"worker-{len(procs)}.log").open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
    _back_to_eager()


def wait_for(predicate: Callable[[], bool], timeout: float = 20.0, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def own_redis() -> Iterator[dict[str, Callable[[], None] | str]]:
    """A redis-server of our own that a test may stop and start (never the shared one).

    Port 63792 unless TEST_OWN_REDIS_PORT names another (parallel checkouts on one machine)."""
    port = int(os.environ.get("TEST_OWN_REDIS_PORT", "63792"))
    # Under pytest-xdist each worker process gets its own port (gw0 → +0, gw1 → +1, …).
    port += int(os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:] or 0)
    state: dict[str, subprocess.Popen | None] = {"proc": None}

    def start() -> None:
        proc = subprocess.Popen(
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        state["proc"] = proc
        assert wait_for(lambda: port_open(port), timeout=10), "redis-server did not start"

    def stop() -> None:
        proc = state["proc"]
        if proc is not None and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)
        state["proc"] = None
        assert wait_for(lambda: not port_open(port), timeout=10)

    start()
    yield {"url": f"redis://127.0.0.1:{port}/0", "start": start, "stop": stop}
    stop()
