"""Partner batch, 10,000 rows (BENCH_IMPORT_ROWS overrides; 2,000 at --size small): upload → validate → approve → apply → every referral at a desk, end to end.

Through a real Celery worker on Redis (`-Q routing,notifications`, 2 threads), against the benchmark data
set: the busiest center's counselor uploads the rows as JSON (what a partner system posts), its manager
approves. The baseline is a raw COPY of the same rows' client columns into a temporary table, the least
any loader must do; the ratio says what checking, matching, the services' rules, the event log and
routing cost on top. Everything the benchmark created is deleted at the end.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import time

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone

from bench.bench_routing import _cleanup, _start_worker, _stop, _use_broker
from bench.common import Context, Row, Stats, compare
from bench.load import hangul_number

ROWS = {"small": 2_000, "default": 10_000, "full": 10_000}
SERVICES = [("job_placement", "employment_welfare"), ("debt_adjustment", "microfinance")]
SERVICES += [("basic_livelihood", "local_government"), ("kesp", "employment_welfare")]
NAME_PREFIX = "벤치명단"


def _rows(n: int) -> list[dict[str, str]]:
    day = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    needs = {"job_placement": "job_search", "debt_adjustment": "debt_adjustment", "basic_livelihood": "livelihood"}
    needs["kesp"] = "job_seeker_income"
    out = []
    for i in range(n):
        service, kind = SERVICES[i % len(SERVICES)]
        out.append(
            {
                "name": f"{NAME_PREFIX}{hangul_number(i, 4)}",
                "birth_date": (dt.date(1955, 1, 1) + dt.timedelta(days=i % 15000)).isoformat(),
                "phone": f"010-8{i // 10000:03d}-{i % 10000:04d}",
                "needs": needs[service],
                "service": service,
                "consent_date": day,
                "consent_method": "paper",
                "consent_kinds": f"{kind};local_government",
                "note": "벤치마크 명단",
            }
        )
    return out


def _wait(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _status(pk: int) -> str:
    with connection.cursor() as cur:
        cur.execute("SELECT status FROM cases_importbatch WHERE id = %s", [pk])
        row = cur.fetchone()
    return row[0] if row else ""


def _unrouted(pk: int) -> int:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM cases_importrow r JOIN referral_referral f ON f.id = r.referral_id "
            "WHERE r.batch_id = %s AND f.to_desk_id IS NULL AND f.status = 'requested'",
            [pk],
        )
        return int(cur.fetchone()[0])


def _copy_baseline(ctx: Context, rows: list[dict[str, str]]) -> float:
    """Seconds to COPY the same rows' client columns into a temporary table and commit."""
    buf = io.StringIO()
    for r in rows:
        buf.write("\t".join([r["name"], r["birth_date"], r["phone"], r["service"], r["consent_kinds"]]) + "\n")
    with psycopg.connect(ctx.database_url) as conn:
        t0 = time.perf_counter()
        conn.execute(
            "CREATE TEMP TABLE bench_import_copy (name text, birth_date date, phone text, service text, kinds text)"
        )
        with conn.cursor().copy("COPY bench_import_copy FROM STDIN") as copy:
            copy.write(buf.getvalue())
        conn.commit()
        return time.perf_counter() - t0


def _remove(batch_id: int | None) -> None:
    with connection.cursor() as cur:
        if batch_id is not None:
            cur.execute(
                "SELECT client_id FROM cases_importrow WHERE batch_id = %s AND matched_client_id IS NULL", [batch_id]
            )
            client_ids = [r[0] for r in cur.fetchall() if r[0]]
            cur.execute("DELETE FROM cases_importrow WHERE batch_id = %s", [batch_id])
            cur.execute("DELETE FROM cases_importbatch WHERE id = %s", [batch_id])
        else:
            client_ids = []
        cur.execute("SELECT id FROM cases_client WHERE name LIKE %s", [NAME_PREFIX + "%"])
        client_ids += [r[0] for r in cur.fetchall()]
    _cleanup(sorted(set(client_ids)))


def run(ctx: Context) -> list[Row]:
    from cases.imports import import_batch_approve, import_batch_create, import_json_parse

    n = int(os.environ.get("BENCH_IMPORT_ROWS") or ROWS.get(ctx.size, 10_000))
    users = get_user_model().objects
    uploader = users.get(username=ctx.sample.counselor_username)
    manager = users.get(username=ctx.sample.manager_username)
    # An interrupted earlier run may have left its batch and clients behind.
    with connection.cursor() as cur:
        cur.execute("SELECT id FROM cases_importbatch WHERE filename = 'bench_imports'")
        for (pk,) in cur.fetchall():
            _remove(pk)
    _remove(None)
    rows = _rows(n)
    _use_broker(ctx.redis_url)
    proc = _start_worker(ctx)
    batch_id = None
    phases: dict[str, float] = {}
    ok = False
    try:
        time.sleep(3)  # the worker's start-up is not the batch's time
        t0 = time.perf_counter()
        parsed = import_json_parse({"rows": rows})
        batch, _created = import_batch_create(user=uploader, parsed=parsed, filename="bench_imports")
        batch_id = batch.pk
        phases["upload_s"] = time.perf_counter() - t0
        ok = _wait(lambda: _status(batch.pk) == "ready", 300)
        phases["validate_s"] = time.perf_counter() - t0 - phases["upload_s"]
        t1 = time.perf_counter()
        import_batch_approve(user=manager, batch_id=batch.pk)
        ok = ok and _wait(lambda: _status(batch.pk) == "applied", 600)
        phases["apply_s"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        ok = ok and _wait(lambda: _unrouted(batch.pk) == 0, 900)
        phases["route_s"] = time.perf_counter() - t2
        total = time.perf_counter() - t0
    finally:
        _use_broker(None)
        _stop(proc)
        final = _status(batch_id) if batch_id else ""
        _remove(batch_id)
    base_s = _copy_baseline(ctx, rows)
    stats = Stats(n=1, median_ms=total * 1000, p95_ms=total * 1000, samples_ms=[total * 1000])
    base = Stats(n=1, median_ms=base_s * 1000, p95_ms=base_s * 1000, samples_ms=[base_s * 1000])
    row = compare(
        f"partner batch: {n:,} rows validate + approve + apply + route (real worker)",
        stats,
        baseline="raw COPY of the same rows into a table",
        base=base,
        target="< 60 s end to end" if n >= 10_000 else f"< 60 s at 10,000 rows (this run: {n:,})",
        p95_under_ms=60_000,
        note=" · ".join(f"{k[:-2]} {v:.1f} s" for k, v in phases.items()) + f" · final status {final}",
        extra={**{k: round(v, 2) for k, v in phases.items()}, "rows": n, "rows_per_s": round(n / total, 1)},
    )
    row.met = bool(row.met and ok and n >= 10_000)
    return [row]
