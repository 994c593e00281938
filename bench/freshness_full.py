"""The freshness-under-load row of bench/bench_incremental.py on the 10M statistics data set of `--size full`
(`yeongye_bench_stats`), on the current month alone: its facts and cells are built first when missing, so the
row needs neither the whole 12-month cube (~6-7 minutes a month at 10M on two cores) nor bench_stats.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/yeongye_bench_stats .venv/bin/python bench/freshness_full.py
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ["DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/yeongye_bench_stats"
    )
    from bench.common import apply_bench_settings

    apply_bench_settings(os.environ)
    os.environ["CELERY_BROKER_URL"] = ""
    import django

    django.setup()
    from django.utils import timezone

    from bench.bench_incremental import freshness_under_load
    from bench.bench_routing import _use_broker
    from referral.models import Referral
    from stats.definitions import month_bounds, month_of
    from stats.models import MonthFact
    from stats.services import stats_refresh_month

    _use_broker(os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"))
    month = month_of(timezone.now())
    t0 = time.perf_counter()
    if not MonthFact.objects.filter(month=month).exists():
        stats_refresh_month(month=month)
    print(f"month {month} facts and cells ready in {time.perf_counter() - t0:.1f} s", flush=True)
    start, end = month_bounds(month)
    in_month = Referral.objects.filter(created_at__gte=start, created_at__lt=end).count()
    facts = MonthFact.objects.filter(month=month).count()
    print(f"{Referral.objects.count():,} referrals; {in_month:,} in the month, {facts:,} facts", flush=True)
    row = freshness_under_load(month)
    if row is None:
        raise SystemExit("no referral waiting at a managed center this month")
    print(json.dumps(row.as_dict(), default=str, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
