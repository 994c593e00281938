"""Intake throughput and the hardening load test, over HTTP on loopback (bench/load.py).

gunicorn (gunicorn.conf.py: 2 gthread workers) and a real Celery worker on Redis serve a throwaway database
(`yeongye_load`, or BENCH_LOAD_DB), so the benchmark data set is never touched. Intake throughput is measured
with the routing worker consuming while the intakes run (the production shape on one host).
"""

from __future__ import annotations

from bench.common import Context, Row, Stats, compare
from bench.load import run_intake, run_load


def _stats(summary: dict, kind: str | None = None) -> Stats:
    if kind:
        k = summary["by_kind"][kind]
        return Stats(n=k["n"], median_ms=k["median_ms"], p95_ms=k["p95_ms"])
    return Stats(n=summary["requests"], median_ms=summary["p50_ms"], p95_ms=summary["p95_ms"])


def _intake_row(intakes: int, *, worker_after: bool) -> Row:
    intake = run_intake(requests=intakes, users=16, worker_after=worker_after)
    shape = (
        "web tier alone (routing worker started after the run)"
        if worker_after
        else "routing worker consuming concurrently"
    )
    cpu = ", ".join(f"{k} {v:,.1f}" for k, v in intake["cpu_ms_per_intake"].items())
    drain = (
        f"; routing backlog of {intake['unrouted_at_end']:,} drained in {intake['drain_s']:,.1f} s"
        if worker_after
        else f"; {intake['unrouted_at_end']:,} referrals not yet routed when the last intake returned"
    )
    row = compare(
        f"intake throughput: {intakes:,} intakes (client + consent + case + referral = 4 requests), 16 clients, {shape}",
        _stats(intake),
        target=">= 200 requests/s, zero errors",
        note=(
            f"{intake['rate_per_s']:,.1f} requests/s = {intake['intakes_per_s']:,.1f} intakes/s; "
            f"status {intake['status']}; CPU ms per intake: {cpu}; load average {intake['load_average']['start']} "
            f"-> {intake['load_average']['end']}{drain}; per kind p95: "
            + ", ".join(f"{k} {v['p95_ms']:,.0f} ms" for k, v in intake["by_kind"].items())
        ),
        extra={"summary": intake},
    )
    row.met = intake["rate_per_s"] >= 200 and intake["server_errors"] == 0 and set(intake["status"]) == {201}
    return row


def run(ctx: Context) -> list[Row]:
    intakes = 200 if ctx.size == "small" else 600
    # The web-tier-alone shape (`python bench/load.py --intake N --worker-after`, with the drain time)
    # stays a load.py option: the table keeps one intake row, the production shape.
    rows = [_intake_row(intakes, worker_after=False)]
    users, seconds = (10, 20) if ctx.size == "small" else (50, 60)
    load = run_load(users=users, seconds=seconds)
    row = compare(
        f"load test: {users} users x {seconds} s, mixed intake / queue / accept",
        _stats(load),
        target="zero 5xx",
        note=(
            f"{load['requests']:,} requests, {load['rate_per_s']:,.1f}/s; status {load['status']}; p99 "
            f"{load['p99_ms']:,.0f} ms; per kind p95: "
            + ", ".join(f"{k} {v['p95_ms']:,.0f} ms" for k, v in load["by_kind"].items())
        ),
        extra={"summary": load},
    )
    row.met = load["server_errors"] == 0
    rows.append(row)
    return rows
