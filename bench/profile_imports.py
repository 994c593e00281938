"""A partner batch in-process (tasks eager): validate, apply, route, each phase timed, its queries counted.

    BENCH_DATABASE_URL=postgres://.../yeongye_x_bench .venv/bin/python bench/profile_imports.py \\
        [--rows 300] [--profile out.prof]

The database is the benchmark's (`bench/run.py --size small` makes it). Prints seconds and queries per phase
and per row; with --profile, a cProfile dump of the whole run (read it with `python -m pstats`).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import apply_bench_settings  # noqa: E402

os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or os.environ["DATABASE_URL"]
apply_bench_settings(os.environ)
os.environ["CELERY_BROKER_URL"] = ""
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from bench.bench_imports import _remove, _rows, _unrouted  # noqa: E402
from bench.run import pick_sample  # noqa: E402


def main() -> None:
    from cases.imports import import_batch_approve, import_batch_create, import_json_parse
    from cases.models import ImportBatch

    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--profile")
    args = parser.parse_args()
    sample = pick_sample()
    users = get_user_model().objects
    uploader = users.get(username=sample.counselor_username)
    manager = users.get(username=sample.manager_username)
    for pk in ImportBatch.objects.filter(filename="bench_imports").values_list("pk", flat=True):
        _remove(pk)
    _remove(None)
    rows = _rows(args.rows)
    prof = cProfile.Profile() if args.profile else None
    batch_id = None
    try:
        if prof:
            prof.enable()
        with CaptureQueriesContext(connection) as q_validate:
            t0 = time.perf_counter()
            batch, _ = import_batch_create(
                user=uploader, parsed=import_json_parse({"rows": rows}), filename="bench_imports"
            )
            batch_id = batch.pk
            t_validate = time.perf_counter() - t0
        with CaptureQueriesContext(connection) as q_apply:
            t0 = time.perf_counter()
            import_batch_approve(user=manager, batch_id=batch.pk)
            t_apply = time.perf_counter() - t0
        if prof:
            prof.disable()
        batch.refresh_from_db()
        n = args.rows
        print(f"status {batch.status} {batch.failure or ''} unrouted {_unrouted(batch.pk)}")
        print(f"validate {t_validate:.2f} s ({n / t_validate:.0f} rows/s), {len(q_validate)} queries")
        print(
            f"apply+route {t_apply:.2f} s ({n / t_apply:.0f} rows/s), {len(q_apply)} queries ({len(q_apply) / n:.1f}/row)"
        )
        if prof:
            prof.dump_stats(args.profile)
    finally:
        reset_queries()
        _remove(batch_id)


if __name__ == "__main__":
    main()
