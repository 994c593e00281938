"""The statistics dashboard read from a streaming replica against the same page read from the primary, in the
same run: a standby of the benchmark server is started for the occasion (core/tests/standby.py: a base
backup into a temporary folder, a postmaster on a free port), and removed at the end.

Rows: the base backup's time; the dashboard (ministry, national, 12 months, by center) from the replica,
with the primary as baseline (ratio ≈ 1 is the point: the replica takes the statistics load off the
primary, it is not meant to be faster); how long a change on the primary takes to be readable on the
replica (commit → visible).
"""

from __future__ import annotations

import time

from django.db import connection, connections
from django.test.utils import CaptureQueriesContext, override_settings

from bench.bench_pages import _get
from bench.bench_stats import _ministry_client, ensure_cube
from bench.common import Context, Row, Stats, compare, measure, percentile
from core import replica
from core.tests.standby import Replica

URL = "/stats/?group=center"


def _wait_caught_up(timeout: float = 120) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections[replica.REPLICA].cursor() as cur:
            cur.execute(replica.LAG_SQL)
            lag = float(cur.fetchone()[0] or 0)
        if lag == 0:
            return lag
        time.sleep(0.2)
    raise RuntimeError("the standby did not catch up")


def _visibility_ms(n: int = 20) -> Stats:
    """Commit a change on the primary, then poll the replica until it reads it (ms, per change)."""
    samples = []
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_replica_probe (id int PRIMARY KEY, v bigint)")
        cur.execute("INSERT INTO bench_replica_probe VALUES (1, 0) ON CONFLICT (id) DO UPDATE SET v = 0")
    _wait_caught_up()
    for i in range(1, n + 1):
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("UPDATE bench_replica_probe SET v = %s WHERE id = 1", [i])
        while True:
            with connections[replica.REPLICA].cursor() as cur:
                cur.execute("SELECT v FROM bench_replica_probe WHERE id = 1")
                row = cur.fetchone()
            if row and row[0] == i:
                break
            if time.perf_counter() - t0 > 30:
                raise RuntimeError("a change did not reach the replica in 30 s")
        samples.append((time.perf_counter() - t0) * 1000)
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_replica_probe")
    ordered = sorted(samples)
    return Stats(n=n, median_ms=ordered[n // 2], p95_ms=percentile(samples, 95), samples_ms=samples)


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    cube = ensure_cube()
    if cube is not None:
        rows.append(cube)
    standby = Replica(dict(connection.settings_dict))
    t0 = time.perf_counter()
    standby.create()
    standby.start()
    backup_s = time.perf_counter() - t0
    connections.settings[replica.REPLICA] = standby.settings()
    try:
        with override_settings(REPLICA_CHECK_SECONDS=3600, REPLICA_MAX_LAG_SECONDS=30):
            replica.forget_health()
            _wait_caught_up()
            client = _ministry_client()
            call = _get(client, lambda: URL)
            with CaptureQueriesContext(connections[replica.REPLICA]) as on_replica:
                call()
            replica_queries = len(on_replica.captured_queries)  # now: the next request empties the log
            if not replica_queries:
                raise RuntimeError("the dashboard did not read the replica")
            n = max(10, ctx.repeat // 5)
            # Interleaved, so both sides see the same machine: primary, replica, primary, replica.
            primary_samples: list[float] = []
            replica_samples: list[float] = []
            for _ in range(2):
                del connections.settings[replica.REPLICA]  # no replica configured: the primary serves
                primary_samples += measure(call, n=n, warmup=2).samples_ms
                connections.settings[replica.REPLICA] = standby.settings()
                replica.forget_health()
                replica_samples += measure(call, n=n, warmup=2).samples_ms

            def stats(samples: list[float]) -> Stats:
                ordered = sorted(samples)
                return Stats(len(samples), ordered[len(samples) // 2], percentile(samples, 95), samples)

            base = stats(primary_samples)
            rows.append(
                compare(
                    "stats dashboard page, ministry, national, 12 months by center, read from the replica",
                    stats(replica_samples),
                    baseline="the same page read from the primary (same run, interleaved)",
                    base=base,
                    target="served from the replica; ≈ 1× the primary",
                    max_ratio=1.5,
                    note=f"standby: base backup + start {backup_s:.1f} s; {replica_queries} "
                    "queries a request on the replica",
                )
            )
            rows.append(
                compare(
                    "a change committed on the primary, readable on the replica",
                    _visibility_ms(),
                    target="well inside REPLICA_MAX_LAG_SECONDS (30 s)",
                    p95_under_ms=1_000,
                    note="commit → the replica's SELECT sees it (streaming replication, asynchronous)",
                )
            )
    finally:
        if replica.REPLICA in connections.settings:
            connections[replica.REPLICA].close()
            del connections.settings[replica.REPLICA]
        replica.forget_health()
        standby.remove()
    return rows
