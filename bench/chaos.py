"""Chaos run (`make chaos`): N API clients create referrals while the routing worker is SIGKILLed, Redis
(cache and broker, a redis-server of the script's own) restarts, and PostgreSQL drops the app's connections.

    .venv/bin/python bench/chaos.py --clients 8 --seconds 40

gunicorn (gunicorn.conf.py), a routing worker and beat run as deployed (Procfile) against a database of
their own (yeongye_chaos). Each client runs intake (client, consent, case, referral) in a loop; a 503
(the database went away: "nothing was saved", Retry-After) is retried once after a pause, as a client
honouring Retry-After would. At the end the script waits for beat's sweeper to route what the faults held
up, then reports requests, 5xx answers, failed requests (after the retry), lost referrals (a 201 whose
referral is missing or never reached a desk) and double-routed ones (more than one route event).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import Api, Stats, _env, _prepare, _start_servers, _stop, _tokens  # noqa: E402
from bench.load import _intake as intake  # noqa: E402

CELERY = str(ROOT / ".venv" / "bin" / "celery")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class OwnRedis:
    def __init__(self) -> None:
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


class RetryingApi(Api):
    """Retries a 503 once: the server promised nothing was saved."""

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        status, data, ms = super().call(method, path, body)
        if status == 503:
            with RETRIES_LOCK:
                RETRIES["503"] += 1
            time.sleep(0.5)
            status, data, more = super().call(method, path, body)
            ms += more + 500
        return status, data, ms


RETRIES = {"503": 0}
RETRIES_LOCK = threading.Lock()


def _worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [CELERY, "-A", "config", "worker", "-Q", "routing,notifications", "-c", "2", "-l", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _beat(env: dict[str, str], schedule: str) -> subprocess.Popen:
    return subprocess.Popen(
        [CELERY, "-A", "config", "beat", "-l", "warning", "--schedule", schedule],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _sql(db: str, query: str) -> str:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", db, "-At", "-c", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def _drop_app_connections(db: str) -> int:
    return int(
        _sql(
            db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE datname = '{db}' AND pid <> pg_backend_pid()",  # noqa: S608 - the script's own db name
        )
        or 0
    )


def run_chaos(*, clients: int, seconds: int, port: int, db: str, drain_seconds: int) -> dict[str, Any]:
    redis = OwnRedis()
    redis.start()
    env = _env(f"postgres://postgres@127.0.0.1:5432/{db}", redis.url)
    env.update(CACHE_URL=redis.url.replace("/0", "/1"), LOG_FORMAT="json", API_THROTTLE_USER="100000/min")
    _prepare(db, env)
    procs = _start_servers(env, port)  # gunicorn + a routing worker
    schedule = tempfile.mkdtemp(prefix="chaos-beat-")
    beat = _beat(env, os.path.join(schedule, "schedule"))
    events: list[str] = []
    created: list[int] = []
    lock = threading.Lock()
    try:
        tokens = _tokens(env, port, clients)
        stats = Stats()
        counter = iter(range(10**9))
        stop_at = time.time() + seconds

        def client(token: str, seed: int) -> None:
            rng = random.Random(seed)
            api = RetryingApi(port, token)
            while time.time() < stop_at:
                with lock:
                    n = next(counter)
                pk = intake(api, stats, rng, n)
                if pk is not None:
                    with lock:
                        created.append(pk)

        def chaos() -> None:
            start = time.time()

            def at(offset: float) -> None:
                time.sleep(max(0.0, start + offset - time.time()))

            at(seconds * 0.15)
            worker = procs[1]
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
            events.append(f"{time.time() - start:5.1f}s routing worker SIGKILLed")
            at(seconds * 0.15 + 3)
            procs[1] = _worker(env)
            events.append(f"{time.time() - start:5.1f}s new routing worker started")
            at(seconds * 0.4)
            redis.stop()
            events.append(f"{time.time() - start:5.1f}s Redis stopped")
            at(seconds * 0.4 + 3)
            redis.start()
            events.append(f"{time.time() - start:5.1f}s Redis restarted (empty)")
            for offset in (0.65, 0.8):
                at(seconds * offset)
                dropped = _drop_app_connections(db)
                events.append(f"{time.time() - start:5.1f}s PostgreSQL: {dropped} app connections terminated")

        threads = [threading.Thread(target=client, args=(tok, i)) for i, (tok, _) in enumerate(tokens)]
        chaos_thread = threading.Thread(target=chaos)
        started = time.time()
        for t in threads:
            t.start()
        chaos_thread.start()
        for t in threads:
            t.join()
        chaos_thread.join()
        load = stats.summary(time.time() - started)

        # Beat's sweeper re-enqueues what is still unrouted a minute later; wait for it.
        ids = ",".join(map(str, created)) or "0"
        drain_started = time.time()
        unrouted = -1
        while time.time() - drain_started < drain_seconds:
            unrouted = int(
                _sql(db, f"SELECT count(*) FROM referral_referral WHERE id IN ({ids}) AND to_desk_id IS NULL")
            )  # noqa: S608
            if unrouted == 0:
                break
            time.sleep(2)
        drained_in = time.time() - drain_started
        present = int(_sql(db, f"SELECT count(*) FROM referral_referral WHERE id IN ({ids})"))  # noqa: S608
        doubled = int(
            _sql(
                db,
                "SELECT count(*) FROM (SELECT referral_id FROM referral_referralevent WHERE kind = 'route' "
                f"AND referral_id IN ({ids}) GROUP BY referral_id HAVING count(*) > 1) d",  # noqa: S608
            )
        )
        server_errors = {str(s): n for s, n in load["status"].items() if int(s) >= 500 or int(s) == 0}
        return {
            "clients": clients,
            "seconds": seconds,
            "requests": load["requests"],
            "5xx_answers": sum(server_errors.values()) + RETRIES["503"],
            "503_retried": RETRIES["503"],
            "failed_after_retry": sum(server_errors.values()),
            "failed_by_status": server_errors,
            "referrals_created": len(created),
            "lost": (len(created) - present) + max(unrouted, 0),
            "double_routed": doubled,
            "drained_in_s": round(drained_in, 1),
            "p95_ms": load["p95_ms"],
            "events": events,
            "errors": load["errors"][:5],
        }
    finally:
        _stop([p for p in [*procs, beat] if p.poll() is None])
        redis.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=40)
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--db", default="yeongye_chaos")
    parser.add_argument("--drain-seconds", type=int, default=180)
    args = parser.parse_args()
    result = run_chaos(
        clients=args.clients,
        seconds=args.seconds,
        port=args.port or _free_port(),
        db=args.db,
        drain_seconds=args.drain_seconds,
    )
    print(json.dumps(result, ensure_ascii=False, indent=2))
    sys.exit(0 if result["failed_after_retry"] == result["lost"] == result["double_routed"] == 0 else 1)


if __name__ == "__main__":
    main()
