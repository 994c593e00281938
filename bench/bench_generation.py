"""Synthetic generation rate against a raw COPY of as many narrow rows."""

from __future__ import annotations

import datetime as dt
import time

import psycopg
from django.db import transaction

from bench.common import Context, Row, Stats, compare
from demo.synthetic import Spec, generate_synthetic


class _Rollback(Exception):
    pass


def raw_copy_seconds(database_url: str, n: int) -> float:
    """COPY n rows of (bigint, timestamptz, int) into a fresh unlogged-free temp table, with its primary key."""
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("CREATE TEMP TABLE bench_narrow (id bigint PRIMARY KEY, at timestamptz, k int)")
        now = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        with cur.copy("COPY bench_narrow (id, at, k) FROM STDIN") as copy:
            for i in range(n):
                copy.write_row((i, now, i % 7))
        conn.commit()
        return time.perf_counter() - t0


def _row(name: str, seconds: float, referrals: int, base_seconds: float, note: str) -> Row:
    rate = referrals / seconds if seconds else 0.0
    row = compare(
        name,
        Stats(n=1, median_ms=seconds * 1000, p95_ms=seconds * 1000),
        baseline=f"raw COPY of {referrals:,} narrow rows",
        base=Stats(n=1, median_ms=base_seconds * 1000, p95_ms=base_seconds * 1000),
        target=">= 20,000 referrals/s",
        note=f"{rate:,.0f} referrals/s; {note}",
    )
    row.met = rate >= 20_000
    row.extra["referrals_per_s"] = rate
    return row


def run(ctx: Context) -> list[Row]:
    rows = []
    g = ctx.generated_now
    if g:
        base = raw_copy_seconds(ctx.database_url, g["referrals"])
        rows.append(
            _row(
                f"synthetic generation, bulk into an empty database ({g['referrals']:,} referrals)",
                g["seconds"],
                g["referrals"],
                base,
                f"{g['events']:,} events, {g['clients']:,} clients, {g['cases']:,} cases; "
                f"RRN encryption {g['encrypt_seconds']:.1f}s; index rebuild and FK checks included",
            )
        )
    # Appending to the full dataset with every index live, rolled back afterwards.
    n = 20_000 if ctx.size != "small" else 5_000
    spec = Spec(clients=n // 5, referrals=n, months=12, seed=99)
    t0 = time.perf_counter()
    try:
        with transaction.atomic():
            result = generate_synthetic(spec, analyze=False, bulk=False)
            raise _Rollback
    except _Rollback:
        pass
    seconds = time.perf_counter() - t0
    base = raw_copy_seconds(ctx.database_url, n)
    rows.append(
        _row(
            f"synthetic generation, appended with live indexes ({n:,} referrals)",
            seconds,
            n,
            base,
            f"{result.counts['events']:,} events; next batch built in a thread while one is written; "
            "rolled back after timing",
        )
    )
    return rows
