"""One intake (client + consent + case + referral), in-process through the WSGI handler, as bench/load.py sends it.

    DATABASE_URL=postgres://.../yeongye_x CELERY_BROKER_URL=redis://.../13 \\
        .venv/bin/python bench/profile_intake.py --user NAME [--intakes 200] [--profile out.prof] [--sql]

The database must be migrated, have the directory loaded and a counselor NAME (`create_staff`). Token auth,
JSON bodies, every middleware, post-commit work (stats flag, the routing task published to the broker)
included. Prints queries, this process's CPU and its PostgreSQL backend's CPU per intake (after a warm-up),
CPU per request kind, optionally a cProfile dump (CPU time) and the SQL of the last intake.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import apply_bench_settings  # noqa: E402

apply_bench_settings(os.environ)
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from bench.load import NEED_FOR_SERVICE, ORG_KINDS, SERVICES, hangul_number  # noqa: E402

APP = WSGIHandler()
CPU_BY_PATH: defaultdict[str, float] = defaultdict(float)


def call(token: str, method: str, path: str, body: Any) -> tuple[int, Any]:
    raw = json.dumps(body).encode()
    status_holder: list[str] = []
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(raw)),
        "wsgi.input": io.BytesIO(raw),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        status_holder.append(status)
        return lambda data: None

    started = time.process_time()
    chunks = APP(environ, start_response)
    data = b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    CPU_BY_PATH[path.rstrip("/").split("/")[-1]] += time.process_time() - started
    return int(status_holder[0].split()[0]), json.loads(data) if data else None


def intake(token: str, rng: random.Random, n: int) -> None:
    year = rng.randint(1960, 2004)
    s, client = call(
        token,
        "POST",
        "/api/v1/clients/",
        {
            "name": f"프로{hangul_number(n)}",
            "birth_date": f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "phone": f"010-{rng.randint(2000, 9999)}-{n % 10000:04d}",
        },
    )
    assert s == 201, (s, client)
    s, body = call(
        token,
        "POST",
        f"/api/v1/clients/{client['id']}/consents/",
        {"purpose": "referral", "organization_kinds": ORG_KINDS, "method": "electronic"},
    )
    assert s == 201, (s, body)
    service = rng.choice(SERVICES)
    domain, need = NEED_FOR_SERVICE[service]
    s, case = call(
        token,
        "POST",
        "/api/v1/cases/",
        {"client": client["id"], "channel": "walk_in", "needs": [{"domain": domain, "code": need}]},
    )
    assert s == 201, (s, case)
    s, body = call(token, "POST", "/api/v1/referrals/", {"case": case["id"], "service": service})
    assert s == 201, (s, body)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process on this machine (the PostgreSQL backend serving this process)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--user", required=True)
    parser.add_argument("--intakes", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--profile", default="")
    parser.add_argument("--sql", action="store_true")
    args = parser.parse_args()
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=args.user)
    token = Token.objects.get_or_create(user=user)[0].key
    rng = random.Random(1)
    base = int(time.time() * 1000) % 10**6 * 10
    for i in range(args.warmup):
        intake(token, rng, base + i)
    CPU_BY_PATH.clear()
    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    backend_cpu0 = _cpu_seconds(backend)
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    with connection.execute_wrapper(count):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if profiler:
            profiler.enable()
        for i in range(args.intakes):
            last = len(queries)
            intake(token, rng, base + args.warmup + i)
        if profiler:
            profiler.disable()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    print(
        f"{args.intakes} intakes: {len(queries) / args.intakes:.1f} queries/intake, "
        f"CPU {cpu * 1000 / args.intakes:.1f} ms/intake, wall {wall * 1000 / args.intakes:.1f} ms/intake"
    )
    print(f"PostgreSQL backend CPU {(_cpu_seconds(backend) - backend_cpu0) * 1000 / args.intakes:.1f} ms/intake")
    print("CPU ms per request:", {k: round(v * 1000 / args.intakes, 1) for k, v in CPU_BY_PATH.items()})
    if profiler:
        profiler.dump_stats(args.profile)
    if args.sql:
        kinds = Counter(q.split()[0] for q in queries[last:])
        print(dict(kinds))
        for q in queries[last:]:
            print("  ", q[:220])


if __name__ == "__main__":
    main()
