"""The naive national 12-month GROUP BY over raw referrals: the stats dashboard's baseline."""

from __future__ import annotations

from bench.common import Context, Row, compare, measure
from bench.sql import explain, run_query


def run(ctx: Context) -> list[Row]:
    using = ctx.stats_alias
    stats = measure(lambda: run_query("stats_naive_12_months", {}, using), n=max(3, ctx.repeat // 10), warmup=1)
    info = explain("stats_naive_12_months", {}, using)
    referrals = ctx.dataset.get("stats_referrals") or ctx.dataset.get("referrals")
    return [
        compare(
            f"naive GROUP BY, national, 12 months ({referrals:,} referrals in the table)",
            stats,
            target="reference for the dashboard (< 500 ms at 10M, pending stats app)",
            note=f"plan: {', '.join(info['indexes']) or 'no index'}; seq scans: {', '.join(info['seq_scans']) or 'none'}",
            extra={"explain": info},
        ),
        # PENDING: the stats app is on its own branch; its dashboard benchmark (national, 12 months,
        # < 500 ms at 10M, vs the naive GROUP BY above) lands with it.
        Row(
            name="PENDING: stats dashboard, national, 12 months",
            n=0,
            median_ms=float("nan"),
            p95_ms=float("nan"),
            baseline="naive GROUP BY (row above)",
            target="< 500 ms at 10M referrals",
            met=None,
            note="pending: the stats app is not merged yet; benchmarked when it is",
        ),
    ]
