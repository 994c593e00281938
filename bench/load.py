"""Load test on loopback: gunicorn (gunicorn.conf.py: 2 gthread workers) on PostgreSQL, a real Celery worker on Redis, and
N concurrent users mixing intake (client + consent + case + referral), queue views and actions.

    .venv/bin/python bench/load.py --users 50 --seconds 60          # the hardening load test
    .venv/bin/python bench/load.py --intake 2000 --users 16          # intake throughput (fixed count)

Prints a JSON summary (requests, errors by status, 5xx count, p50/p95/p99 per kind, rate) and returns
it from `run_load()` / `run_intake()` for bench/run.py. Uses its own database (yeongye_load by default)
so it never touches the benchmark data set.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # also run as a script: python bench/load.py

from bench.common import apply_bench_settings  # noqa: E402

PY = str(ROOT / ".venv" / "bin" / "python")
PASSWORD = "load-test-password-2026"  # noqa: S105 - throwaway accounts in a throwaway database
SENDERS = ["EW-SEOUL-GWANAK", "EW-SEOUL-GANGNAM", "EW-INCHEON", "MF-SEOUL-GWANAK", "MF-BUSAN", "EW-ANSAN"]
SERVICES = ["policy_microloan", "job_placement", "basic_livelihood", "debt_adjustment", "kesp", "credit_counseling"]
NEED_FOR_SERVICE = {
    "policy_microloan": ("finance", "policy_loan"),
    "debt_adjustment": ("finance", "debt_adjustment"),
    "credit_counseling": ("finance", "credit_counseling"),
    "job_placement": ("employment", "job_search"),
    "kesp": ("employment", "job_seeker_income"),
    "basic_livelihood": ("welfare", "livelihood"),
}
ORG_KINDS = ["employment_welfare", "microfinance", "local_government", "midlife_career", "credit_recovery"]


def _env(db_url: str, broker: str) -> dict[str, str]:
    env = dict(os.environ)
    apply_bench_settings(env)
    env.update(
        DATABASE_URL=db_url,
        CELERY_BROKER_URL=broker,
        DJANGO_DEBUG="0",
        DJANGO_SECURE_COOKIES="0",
        # The load generator is one address; per-user throttling stays on, at production rates.
        AXES_ENABLED="0",
        # Every load user signs in from 127.0.0.1 within a second; the per-IP sign-in limit is not under test.
        API_THROTTLE_LOGIN="100000/min",
        LOG_LEVEL="WARNING",
    )
    return env


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def _prepare(db_name: str, env: dict[str, str]) -> None:
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db_name], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", db_name], check=True)
    # Tasks left in the broker by an earlier run point at rows of the database just dropped.
    import redis

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).delete("routing", "notifications", "stats")
    _manage(env, "migrate", "--noinput")
    _manage(env, "load_directory")


class Api:
    """One keep-alive HTTP/1.1 connection (gunicorn's gthread workers keep it open between requests)."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self.headers["Authorization"] = f"Token {token}"
        self.connects = 0

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        payload = json.dumps(body) if body is not None else None
        start = time.perf_counter()
        for attempt in range(2):
            try:
                if self.conn.sock is None:
                    self.connects += 1
                self.conn.request(method, path, body=payload, headers=self.headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError, TimeoutError):
                self.conn.close()
                if attempt:
                    return 0, None, (time.perf_counter() - start) * 1000
        elapsed = (time.perf_counter() - start) * 1000
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            data = None
        return response.status, data, elapsed


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.status: dict[int, int] = defaultdict(int)
        self.errors: list[str] = []

    def add(self, kind: str, status: int, ms: float, body: Any = None) -> None:
        with self.lock:
            self.latency[kind].append(ms)
            self.status[status] += 1
            if (status >= 500 or status == 0) and len(self.errors) < 20:
                self.errors.append(f"{kind} {status} {str(body)[:200]}")

    def summary(self, elapsed: float) -> dict[str, Any]:
        def pct(values: list[float], q: float) -> float:
            if not values:
                return 0.0
            ordered = sorted(values)
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

        total = sum(self.status.values())
        every = [v for values in self.latency.values() for v in values]
        return {
            "requests": total,
            "seconds": round(elapsed, 1),
            "rate_per_s": round(total / elapsed, 1) if elapsed else 0,
            "status": dict(sorted(self.status.items())),
            "server_errors": sum(n for s, n in self.status.items() if s >= 500 or s == 0),
            "p50_ms": pct(every, 0.5),
            "p95_ms": pct(every, 0.95),
            "p99_ms": pct(every, 0.99),
            "by_kind": {
                k: {"n": len(v), "median_ms": round(statistics.median(v), 1), "p95_ms": pct(v, 0.95)}
                for k, v in sorted(self.latency.items())
            },
            "errors": self.errors,
        }


SYLLABLES = "가나다라마바사아자차"


def hangul_number(n: int, width: int = 6) -> str:
    """A name-safe spelling of n (names may not contain digits): 12 → 가가가가나다."""
    return "".join(SYLLABLES[int(d)] for d in f"{n:0{width}d}")


def _intake(api: Api, stats: Stats, rng: random.Random, n: int) -> int | None:
    """client + consent + case + referral; returns the referral id."""
    year = rng.randint(1960, 2004)
    status, client, ms = api.call(
        "POST",
        "/api/v1/clients/",
        {
            "name": f"부하{hangul_number(n)}",
            "birth_date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "phone": f"010-{rng.randint(2000, 9999)}-{n % 10000:04d}",
        },
    )
    stats.add("client_create", status, ms, client)
    if status != 201:
        return None
    status, body, ms = api.call(
        "POST",
        f"/api/v1/clients/{client['id']}/consents/",
        {"purpose": "referral", "organization_kinds": ORG_KINDS, "method": "electronic"},
    )
    stats.add("consent_create", status, ms, body)
    service = rng.choice(SERVICES)
    domain, need = NEED_FOR_SERVICE[service]
    status, case, ms = api.call(
        "POST",
        "/api/v1/cases/",
        {"client": client["id"], "channel": "walk_in", "needs": [{"domain": domain, "code": need}]},
    )
    stats.add("case_create", status, ms, case)
    if status != 201:
        return None
    status, referral, ms = api.call("POST", "/api/v1/referrals/", {"case": case["id"], "service": service})
    stats.add("referral_create", status, ms, referral)
    return referral["id"] if status == 201 else None


def _start_web(env: dict[str, str], port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi:application",
            # The production settings (2 gthread workers, WEB_THREADS threads each), as the Procfile.
            "-c",
            "gunicorn.conf.py",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def _start_worker(env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(ROOT / ".venv/bin/celery"),
            "-A",
            "config",
            "worker",
            "-Q",
            # As deployed (Procfile, docker-compose): statistics rebuilds run in a worker of their own.
            "routing,notifications",
            "-c",
            "1",
            "-l",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,  # the banner would mix with the JSON summary
        start_new_session=True,
    )


def _start_servers(env: dict[str, str], port: int, *, worker: bool = True) -> list[subprocess.Popen]:
    procs = [_start_web(env, port)]
    if worker:
        procs.append(_start_worker(env))
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            status, _, _ = Api(port).call("GET", "/livez")
            if status == 200:
                return procs
        except OSError:
            pass
        time.sleep(0.5)
    _stop(procs)
    raise RuntimeError("gunicorn did not come up")


# --- CPU accounting: what each party of the run used (utime + stime from /proc, Linux only) ---

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(process group, CPU seconds) of a live process, None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return int(fields[2]), (int(fields[11]) + int(fields[12])) / _TICK


def _group_cpu(pgid: int) -> dict[int, float]:
    """CPU seconds of every live process in a process group (gunicorn master and workers, celery's pool)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat and stat[0] == pgid:
                out[int(entry.name)] = stat[1]
    return out


def _backend_cpu(db: str) -> dict[int, float]:
    """CPU seconds of the PostgreSQL backends connected to the load database."""
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        pids = [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [db])]
    return {pid: stat[1] for pid in pids if (stat := _proc_stat(pid))}


class CpuMeter:
    """CPU seconds used between start() and stop() by gunicorn, the Celery worker, PostgreSQL backends of
    the load database (those alive at the end; one that closed mid-run is missed) and this load generator."""

    def __init__(self, db: str, web: subprocess.Popen, worker: subprocess.Popen | None) -> None:
        self.db, self.web, self.worker = db, web, worker

    def _sample(self) -> dict[str, dict[int, float]]:
        return {
            "gunicorn": _group_cpu(self.web.pid),
            "celery": _group_cpu(self.worker.pid) if self.worker else {},
            "postgres": _backend_cpu(self.db),
        }

    def start(self) -> None:
        self.before = self._sample()
        self.own = time.process_time()
        self.load_before = os.getloadavg()

    def stop(self) -> dict[str, Any]:
        after = self._sample()
        used = {name: sum(v - self.before[name].get(pid, 0.0) for pid, v in after[name].items()) for name in after}
        used["load_generator"] = time.process_time() - self.own
        workers = after["gunicorn"]
        return {
            "cpu_s": {k: round(v, 2) for k, v in used.items()},
            # Per gunicorn process (the master does nothing per request): shows whether keep-alive
            # connections left one worker busier than the other.
            "gunicorn_per_process_s": [
                round(v - self.before["gunicorn"].get(pid, 0.0), 2) for pid, v in workers.items()
            ],
            "load_average": {
                "start": " ".join(f"{x:.1f}" for x in self.load_before),
                "end": " ".join(f"{x:.1f}" for x in os.getloadavg()),
            },
        }


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    for p in procs:
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


def _tokens(env: dict[str, str], port: int, users: int) -> list[tuple[str, str]]:
    """(token, center) for counselor accounts spread over the sending centers, plus one per receiving side."""
    accounts = [(f"load{i:03d}", SENDERS[i % len(SENDERS)]) for i in range(users)]
    # `create_staff` for each account in one process (a Django start per account cost ~1.5 s of CPU each,
    # which also lifted the load average the run starts with).
    calls = "".join(
        f"call_command('create_staff', username={name!r}, password={PASSWORD!r}, role='counselor', center={center!r})\n"
        for name, center in accounts
    )
    _manage(env, "shell", "-c", f"from django.core.management import call_command\n{calls}")
    out = []
    for name, center in accounts:
        status, body, _ = Api(port).call("POST", "/api/v1/auth/token/", {"username": name, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"token for {name}: {status} {body}")
        out.append((body["token"], center))
    return out


DEFAULT_PORT = int(os.environ.get("BENCH_PORT", "8791"))
DEFAULT_DB = os.environ.get("BENCH_LOAD_DB", "yeongye_load")
DEFAULT_BROKER = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/12"


def run_load(
    *,
    users: int = 50,
    seconds: int = 60,
    port: int = DEFAULT_PORT,
    db: str = DEFAULT_DB,
    broker: str = DEFAULT_BROKER,
) -> dict[str, Any]:
    env = _env(f"postgres://postgres@127.0.0.1:5432/{db}", broker)
    _prepare(db, env)
    procs = _start_servers(env, port)
    try:
        tokens = _tokens(env, port, users)
        stats = Stats()
        stop_at = time.time() + seconds
        counter = iter(range(10**9))
        lock = threading.Lock()

        def user(token: str, seed: int) -> None:
            rng = random.Random(seed)
            api = Api(port, token)
            while time.time() < stop_at:
                roll = rng.random()
                if roll < 0.35:
                    with lock:
                        n = next(counter)
                    _intake(api, stats, rng, n)
                elif roll < 0.75:
                    status, body, ms = api.call("GET", "/api/v1/referrals/?box=incoming")
                    stats.add("queue_incoming", status, ms, body)
                    items = (body or {}).get("results", []) if status == 200 else []
                    pending = [r for r in items if r.get("status") == "requested" and r.get("to_desk")]
                    if pending:
                        target = rng.choice(pending)
                        status, body, ms = api.call("GET", f"/api/v1/referrals/{target['id']}/")
                        stats.add("referral_detail", status, ms, body)
                        status, body, ms = api.call("POST", f"/api/v1/referrals/{target['id']}/accept/", {})
                        # 409 is a fair answer when another user accepted it first.
                        stats.add("referral_accept", status, ms, body)
                else:
                    status, body, ms = api.call("GET", "/api/v1/referrals/?box=outgoing")
                    stats.add("queue_outgoing", status, ms, body)

        threads = [threading.Thread(target=user, args=(tok, i)) for i, (tok, _) in enumerate(tokens)]
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return stats.summary(time.time() - started)
    finally:
        _stop(procs)


def _unrouted(db: str) -> int:
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM referral_referral WHERE status = 'requested' AND to_desk_id IS NULL")
        return int(row.fetchone()[0])  # type: ignore[index]


def run_intake(
    *,
    requests: int = 2000,
    users: int = 16,
    port: int = DEFAULT_PORT + 1,
    db: str = DEFAULT_DB,
    broker: str = DEFAULT_BROKER,
    worker_after: bool = False,
) -> dict[str, Any]:
    """A fixed number of intakes (client + consent + case + referral = 4 requests each).

    The Celery worker routes each referral while the intakes run (the production shape on one host), or,
    with `worker_after`, starts only once they are done: the figure is then the web tier alone, and the
    summary gives how long the worker took to route the backlog (`drain_s`).
    """
    env = _env(f"postgres://postgres@127.0.0.1:5432/{db}", broker)
    _prepare(db, env)
    procs = _start_servers(env, port, worker=not worker_after)
    try:
        tokens = _tokens(env, port, users)
        stats = Stats()
        counter = iter(range(requests))
        lock = threading.Lock()
        apis = [Api(port, token) for token, _ in tokens]

        def user(api: Api, seed: int) -> None:
            rng = random.Random(seed)
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                _intake(api, stats, rng, n)

        threads = [threading.Thread(target=user, args=(api, i)) for i, api in enumerate(apis)]
        meter = CpuMeter(db, procs[0], None if worker_after else procs[1])
        meter.start()
        started = time.time()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.time() - started
        cpu = meter.stop()
        summary = stats.summary(elapsed)
        summary["intakes_per_s"] = round(requests / summary["seconds"], 1) if summary["seconds"] else 0
        summary["routing_worker"] = "started after the run (web tier alone)" if worker_after else "concurrent"
        summary["connections_opened"] = sum(api.connects for api in apis)
        summary.update(cpu)
        summary["cpu_ms_per_intake"] = {k: round(v * 1000 / requests, 1) for k, v in cpu["cpu_s"].items()}
        summary["unrouted_at_end"] = _unrouted(db)
        if worker_after:
            drain_started = time.time()
            procs.append(_start_worker(env))
            while _unrouted(db) and time.time() - drain_started < 600:
                time.sleep(0.2)
            summary["drain_s"] = round(time.time() - drain_started, 1)
            summary["unrouted_after_drain"] = _unrouted(db)
        return summary
    finally:
        _stop(procs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--intake", type=int, default=0, help="run the fixed-count intake benchmark instead")
    parser.add_argument(
        "--worker-after",
        action="store_true",
        help="intake: start the Celery worker only after the run (web tier alone) and time the drain",
    )
    args = parser.parse_args()
    if args.intake:
        result = run_intake(requests=args.intake, users=args.users, worker_after=args.worker_after)
    else:
        result = run_load(users=args.users, seconds=args.seconds)
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()
    sys.exit(1 if result["server_errors"] else 0)


if __name__ == "__main__":
    main()
