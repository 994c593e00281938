"""Monthly statistics as the ministry sees them: the dashboard page, national, the last 12 months.

The cube (`stats_monthlycell`) is rebuilt from the raw rows first when the dataset is newer than it —
timed, because that is what the `stats` queue does every few minutes for the current month. Then the
dashboard page (the full view: form, selector, suppression, template, chart data) is requested as a
ministry user for each grouping, against the baseline the issue names: the naive GROUP BY over the
raw referrals of the same 12 months, measured in the same run.

At `--size full` bench/run.py runs this module in a child process whose database holds 10M referrals.
"""

from __future__ import annotations

import time
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.bench_pages import _client, _get
from bench.common import Context, Row, Stats, compare, measure
from bench.sql import explain, run_query
from centers.models import Role, StaffProfile
from stats.definitions import SEOUL, month_of
from stats.forms import _shift
from stats.models import MonthFact, MonthlyCell, MonthState
from stats.services import stats_refresh_month

GROUPS = ("month", "region", "kind", "center", "service", "domain", "channel", "desk")
MINISTRY_USERNAME = "bench_ministry"


def _data_months() -> list[date]:
    """The months the dashboard's default view reads: the last 12 and the one before (month-on-month)."""
    end = month_of(timezone.now())
    first = _shift(end, -12)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT (date_trunc('month', created_at AT TIME ZONE 'Asia/Seoul'))::date "
            "FROM referral_referral ORDER BY 1"
        )
        referral_months = {r[0] for r in cur.fetchall()}
        cur.execute("SELECT DISTINCT (date_trunc('month', opened_at AT TIME ZONE 'Asia/Seoul'))::date FROM cases_case")
        case_months = {r[0] for r in cur.fetchall()}
    return sorted(m for m in referral_months | case_months if first <= m <= end)


def _cube_is_current(months: list[date]) -> bool:
    """True when every month with data was computed after the dataset was last generated."""
    with connection.cursor() as cur:
        cur.execute("SELECT max(generated_at) FROM bench_dataset")
        generated = cur.fetchone()[0]
    computed = dict(MonthState.objects.filter(month__in=months).values_list("month", "computed_at"))
    # A cube from before the facts were stored (stats.incremental) is rebuilt: the facts come with it.
    with_facts = set(MonthFact.objects.filter(month__in=months).values_list("month", flat=True).distinct())
    return bool(generated) and all(computed.get(m) and computed[m] >= generated and m in with_facts for m in months)


def ensure_cube() -> Row | None:
    """Rebuild every month's cells when the dataset is newer; return the timing row, or None if reused."""
    months = _data_months()
    if not months or _cube_is_current(months):
        return None
    as_of = timezone.now()
    per_month: list[float] = []
    for m in months:
        t0 = time.perf_counter()
        stats_refresh_month(month=m, as_of=as_of)
        per_month.append((time.perf_counter() - t0) * 1000)
    cells = MonthlyCell.objects.filter(month__in=months).count()
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM referral_referral")
        referrals = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM referral_referral WHERE created_at >= %s",
            [datetime.combine(months[0], datetime.min.time(), tzinfo=SEOUL)],
        )
        rebuilt = cur.fetchone()[0]
    stats = Stats(
        n=len(per_month),
        median_ms=sorted(per_month)[len(per_month) // 2],
        p95_ms=max(per_month),
        samples_ms=per_month,
    )
    total_s = sum(per_month) / 1000
    return compare(
        f"statistics cube rebuild, one month at a time ({len(months)} months the dashboard reads; "
        f"{referrals:,} referrals in the table)",
        stats,
        target="a month well inside the 5-minute refresh interval",
        p95_under_ms=300_000,
        note=(
            f"{total_s:,.1f} s for the {rebuilt:,} referrals of those months, {rebuilt / total_s:,.0f} referrals/s; "
            f"{cells:,} cells; p95 column = the slowest month"
        ),
    )


def _ministry_client() -> Client:
    User = get_user_model()
    with transaction.atomic():
        user, _ = User.objects.get_or_create(username=MINISTRY_USERNAME, defaults={"email": "bench@ministry.invalid"})
        StaffProfile.objects.update_or_create(user=user, defaults={"role": Role.MINISTRY, "center": None})
    return _client(MINISTRY_USERNAME)


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    rebuilt = ensure_cube()
    if rebuilt is not None:
        rows.append(rebuilt)
    referrals = ctx.dataset.get("stats_referrals") or ctx.dataset["referrals"]
    end = month_of(timezone.now())
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM referral_referral WHERE created_at >= "
            "date_trunc('month', now() AT TIME ZONE 'Asia/Seoul') AT TIME ZONE 'Asia/Seoul' - interval '11 months'"
        )
        in_window = cur.fetchone()[0]
    n_base = 3 if in_window > 3_000_000 else 10
    naive = measure(lambda: run_query("stats_naive_12_months", {}), n=n_base, warmup=1)
    info = explain("stats_naive_12_months", {})
    baseline = f"naive GROUP BY over the raw referrals ({in_window:,} in the 12 months)"
    rows.append(
        compare(
            f"naive GROUP BY, national, 12 months ({referrals:,} referrals in the table)",
            naive,
            target="reference for the dashboard rows",
            note=(
                f"plan: {', '.join(info['indexes']) or 'no index'}; seq scans: {', '.join(info['seq_scans']) or 'none'}"
            ),
            extra={"explain": info},
        )
    )
    client = _ministry_client()
    n = max(10, ctx.repeat // 5)
    target = "p95 < 500 ms" + (
        " at 10M referrals" if referrals >= 10_000_000 else f" (stated at 10M; {referrals:,} here)"
    )
    for group in GROUPS:

        def url(group: str = group) -> str:
            return f"/stats/?group={group}"

        call = _get(client, url)
        with CaptureQueriesContext(connection) as q:
            call()
        n_queries = len(q.captured_queries)  # now: the next request's request_started empties the log
        stats = measure(call, n=n, warmup=2)
        cells = MonthlyCell.objects.filter(month__lte=end).count()
        rows.append(
            compare(
                f"stats dashboard page, ministry, national, 12 months to {end:%Y-%m}, by {group}",
                stats,
                baseline=baseline,
                base=naive,
                target=target,
                p95_under_ms=500,
                note=f"{n_queries} queries a request; {cells:,} cells in the cube",
            )
        )
    return rows
