#!/usr/bin/env python
"""Run every benchmark in bench/ against a dedicated database and report medians, p95 and ratios.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/yeongye python bench/run.py [--size small|default|full]

The data lives in `yeongye_bench` on the server of DATABASE_URL (BENCH_DATABASE_URL overrides the
whole URL). It is created and migrated when missing, filled by `generate_synthetic`, and reused
while the marker table `bench_dataset` says the requested size is there.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = {
    "small": {"clients": 4_000, "referrals": 20_000, "months": 12, "repeat": 30},
    "default": {"clients": 200_000, "referrals": 1_000_000, "months": 24, "repeat": 100},
    # The scale: pages at 1M referrals / 200k clients, statistics at 10M.
    "full": {"clients": 200_000, "referrals": 1_000_000, "months": 24, "repeat": 200, "stats_referrals": 10_000_000},
}
SEED = 20260301
# The statistics dataset of --size full: its referrals all fall in the 12 months the dashboard shows.
STATS_MONTHS = 12
MARK_START, MARK_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"


def with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def ensure_database(url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
            print(f"created database {name}", file=sys.stderr)


def machine(database_url: str, redis_url: str) -> dict[str, str]:
    import django
    import psycopg
    import redis

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1]
        )
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        ram = "unknown"
    with psycopg.connect(database_url) as conn:
        pg, shared = conn.execute(
            "SELECT current_setting('server_version'), current_setting('shared_buffers')"
        ).fetchone() or ("?", "?")
    try:
        rv = redis.Redis.from_url(redis_url).info("server")["redis_version"]
    except redis.RedisError:
        rv = "unreachable"
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "postgresql": f"{pg} (shared_buffers {shared})",
        "redis": rv,
        "python": platform.python_version(),
        "django": django.get_version(),
        "load_average_at_start": f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}",
    }


def ensure_dataset(name: str, clients: int, referrals: int, months: int) -> dict | None:
    """Generate the dataset unless the marker says it is there; return generation figures when generated."""
    from django.core.management import call_command
    from django.db import connections
    from django.db.migrations.executor import MigrationExecutor

    from centers.services import directory_load
    from demo.synthetic import Spec, generate_synthetic, stderr_progress

    conn = connections["default"]
    executor = MigrationExecutor(conn)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", verbosity=0)
    with conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE IF NOT EXISTS bench_dataset (name text PRIMARY KEY, clients bigint, referrals bigint, "
            "months int, seed bigint, generated_at timestamptz, seconds double precision)"
        )
        cur.execute("SELECT clients, referrals, months, seed FROM bench_dataset WHERE name = %s", [name])
        found = cur.fetchone()
    if found == (clients, referrals, months, SEED):
        print(f"dataset {name}: reusing {referrals:,} referrals / {clients:,} clients", file=sys.stderr)
        if pending:
            # New migrations may have rewritten tables (generated columns) and built indexes:
            # refresh statistics and the visibility map, as after a fresh load.
            _vacuum(conn)
        return None
    directory_load()
    with conn.cursor() as cur:
        cur.execute(
            "TRUNCATE cases_client, cases_consent, cases_case, cases_need, referral_referral, referral_referralevent "
            "RESTART IDENTITY CASCADE"
        )
        cur.execute("DELETE FROM bench_dataset WHERE name = %s", [name])
    print(f"dataset {name}: generating {referrals:,} referrals / {clients:,} clients", file=sys.stderr)
    result = generate_synthetic(
        Spec(clients=clients, referrals=referrals, months=months, seed=SEED),
        progress=stderr_progress,
        analyze=False,
    )
    _vacuum(conn)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO bench_dataset VALUES (%s, %s, %s, %s, %s, now(), %s)",
            [name, clients, referrals, months, SEED, result.seconds],
        )
    return {**result.counts, "seconds": result.seconds, "encrypt_seconds": result.encrypt_seconds}


def _vacuum(conn) -> None:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    with conn.cursor() as cur:  # Django's connection is in autocommit mode outside atomic blocks
        for table in (
            "cases_client",
            "cases_consent",
            "cases_case",
            "cases_need",
            "referral_referral",
            "referral_referralevent",
        ):
            # VACUUM sets the visibility map so counts can be index-only scans, as on a settled database.
            cur.execute(f"VACUUM (ANALYZE) {table}")
    print(f"VACUUM ANALYZE {time.perf_counter() - t0:.1f}s", file=sys.stderr)


def stats_in_child(stats_url: str, size: str) -> list[dict]:
    """Run bench_stats in a child process whose database is the 10M statistics dataset.

    The dashboard reads Django's default connection, so the 10M data set gets a process of its own
    rather than a second alias; the child generates the data set when its marker is missing.
    """
    import subprocess
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        env = {**os.environ, "BENCH_DATABASE_URL": stats_url}
        cmd = [sys.executable, str(Path(__file__)), "--size", size, "--stats-child", out.name]
        print(f"running bench_stats on {urlsplit(stats_url).path.lstrip('/')} (child process)", file=sys.stderr)
        done = subprocess.run(cmd, env=env, check=False)
        text = Path(out.name).read_text()
    if done.returncode != 0 or not text:
        from bench.common import Row

        note = f"failed: the statistics child process exited with {done.returncode}"
        return [Row(name="bench_stats (10M)", n=0, median_ms=0.0, p95_ms=0.0, met=False, note=note).as_dict()]
    return json.loads(text)


def pick_sample():
    from django.db import connection

    from bench.common import Sample

    with connection.cursor() as cur:
        cur.execute(
            "SELECT r.to_center_id, c.code FROM referral_referral r JOIN centers_center c ON c.id = r.to_center_id "
            "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
        )
        center_id, code = cur.fetchone()
        cur.execute(
            "SELECT id FROM referral_referral WHERE to_center_id = %s ORDER BY hashint8(id) LIMIT 200", [center_id]
        )
        refs = [r[0] for r in cur.fetchall()]
        cur.execute(
            "SELECT name, phone FROM cases_client WHERE center_id = %s ORDER BY hashint8(id) LIMIT 200", [center_id]
        )
        people = cur.fetchall()
    base = f"syn_{code.lower()}"
    return Sample(
        center_id=center_id,
        center_code=code,
        manager_username=f"{base}_m",
        counselor_username=f"{base}_c1",
        referral_ids=refs,
        client_names=[p[0] for p in people],
        name_prefixes=[p[0][:2] for p in people],
        phones=[p[1] for p in people],
    )


def fmt(v: float | None, digits: int = 1) -> str:
    if v is None:
        return ""
    return "—" if v != v else f"{v:,.{digits}f}"  # NaN: a pending row


def table(rows: list[dict], info: dict[str, str], size: str, dataset: dict) -> str:
    lines = [
        f"Size `{size}`: {dataset['referrals']:,} referrals, {dataset['clients']:,} clients, {dataset['months']} months"
        + (f"; statistics at {dataset['stats_referrals']:,} referrals" if dataset.get("stats_referrals") else "")
        + f". Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".",
        "",
        "| benchmark | n | median ms | p95 ms | baseline | baseline median ms | baseline p95 ms | ratio (p95) | target | met? |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        lines.append(
            f"| {r['name']} | {r['n']} | {fmt(r['median_ms'])} | {fmt(r['p95_ms'])} | {r['baseline']} | "
            f"{fmt(r['baseline_median_ms'])} | {fmt(r['baseline_p95_ms'])} | {fmt(r['ratio'], 2)} | {r['target']} | {met} |"
        )
    notes = [f"- {r['name']}: {r['note']}" for r in rows if r["note"]]
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="default")
    parser.add_argument("--only", help="comma-separated benchmark modules (e.g. sql,generation)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument("--stats-child", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = SIZES[args.size]

    server = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yeongye")
    url = os.environ.get("BENCH_DATABASE_URL") or with_db(server, "yeongye_bench")
    redis_url = os.environ.get("BENCH_REDIS_URL") or os.environ.get("TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    from bench.common import apply_bench_settings

    apply_bench_settings(os.environ)
    os.environ["CELERY_BROKER_URL"] = os.environ.get("BENCH_CELERY_BROKER_URL", "")

    import django

    django.setup()

    from bench.common import Context, Row

    t_all = time.perf_counter()
    dataset = {"clients": size["clients"], "referrals": size["referrals"], "months": size["months"]}
    if args.stats_child:
        # The 10M-referral statistics database of --size full: its own dataset, only the stats module.
        n = size["stats_referrals"]
        dataset = {"clients": n // 5, "referrals": n, "months": STATS_MONTHS, "stats_referrals": n}
        generated = ensure_dataset("stats", n // 5, n, STATS_MONTHS)
    else:
        generated = ensure_dataset("pages", size["clients"], size["referrals"], size["months"])
    stats_url = None
    if size.get("stats_referrals") and not args.stats_child:
        stats_url = with_db(url, urlsplit(url).path.lstrip("/") + "_stats")
        dataset["stats_referrals"] = size["stats_referrals"]
    info = machine(url, redis_url)
    ctx = Context(
        size=args.size,
        database_url=url,
        redis_url=redis_url,
        dataset=dataset,
        sample=pick_sample(),
        repeat=size["repeat"],
        generated_now=generated,
    )
    bench_dir = Path(__file__).resolve().parent
    modules = sorted(m.name for m in pkgutil.iter_modules([str(bench_dir)]) if m.name.startswith("bench_"))
    if args.only:
        wanted = {f"bench_{x.strip()}" for x in args.only.split(",")}
        modules = [m for m in modules if m in wanted]
    if args.stats_child:
        # The dashboard's views and the freshness of a transition under load are the 10M rows.
        modules = ["bench_stats", "bench_incremental"]
    run_stats_child = stats_url is not None and "bench_stats" in modules
    if run_stats_child:
        modules.remove("bench_stats")
    rows: list[dict] = []
    for name in modules:
        t0 = time.perf_counter()
        print(f"running {name}", file=sys.stderr)
        try:
            mod = importlib.import_module(f"bench.{name}")
            rows.extend(r.as_dict() for r in mod.run(ctx))
        except Exception as exc:  # one broken benchmark must not lose the others' results
            traceback.print_exc()
            rows.append(
                Row(name=name, n=0, median_ms=0.0, p95_ms=0.0, met=False, note=f"failed: {exc!r}"[:300]).as_dict()
            )
        print(f"  {name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if run_stats_child:
        assert stats_url is not None
        rows.extend(stats_in_child(stats_url, args.size))
    if args.stats_child:
        tag = f" [statistics data set: {dataset['referrals']:,} referrals]"
        for row in rows:
            row["name"] += tag
        Path(args.stats_child).write_text(json.dumps(rows, default=str, ensure_ascii=False))
        return
    text = table(rows, info, args.size, dataset)
    print(text)
    results = bench_dir / "results"
    results.mkdir(exist_ok=True)
    (results / "latest.json").write_text(
        json.dumps(
            {
                "size": args.size,
                "dataset": dataset,
                "machine": info,
                "rows": rows,
                "seconds": time.perf_counter() - t_all,
            },
            indent=2,
            default=str,
            ensure_ascii=False,
        )
    )
    docs = ROOT / "docs" / "benchmarks.md"
    if not args.no_docs and docs.exists():
        body = docs.read_text()
        if MARK_START in body and MARK_END in body:
            head, rest = body.split(MARK_START, 1)
            _, tail = rest.split(MARK_END, 1)
            docs.write_text(f"{head}{MARK_START}\n{text}\n{MARK_END}{tail}")
    print(f"total {time.perf_counter() - t_all:.0f}s; results in bench/results/latest.json", file=sys.stderr)


if __name__ == "__main__":
    main()
