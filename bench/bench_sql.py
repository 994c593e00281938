"""Raw SQL of the pages at the benchmark size, with EXPLAIN ANALYZE checks of the indexes used."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.common import Context, Row, compare, measure
from bench.sql import EXPECTED_INDEX, explain, params_cycle, run_query

PAGE_QUERIES = {
    "incoming queue": ["incoming_queue", "incoming_counts", "incoming_overdue"],
    "referral page": ["referral_detail", "referral_events"],
    "client search (name prefix)": ["client_search_name"],
    "client search (phone)": ["client_search_phone"],
    "client search (last 4 digits of phone)": ["client_search_phone_last4"],
    "case list": ["case_list", "case_counts"],
}


def page_sql(page: str, next_params: Callable[[], dict[str, Any]]) -> None:
    """What one page view needs from the database, as raw SQL (the page benchmarks' baseline)."""
    params = next_params()
    for q in PAGE_QUERIES[page]:
        run_query(q, params)


def run(ctx: Context) -> list[Row]:
    rows = []
    for page, queries in PAGE_QUERIES.items():
        next_params = params_cycle(ctx.sample)

        def view(page: str = page, next_params: Callable[[], dict[str, Any]] = next_params) -> None:
            page_sql(page, next_params)

        stats = measure(view, n=ctx.repeat)
        notes, plans, ok = [], {}, True
        for q in queries:
            info = explain(q, params_cycle(ctx.sample)())
            plans[q] = info
            expected = EXPECTED_INDEX.get(q)
            choices = (expected,) if isinstance(expected, str) else expected or ()
            used = not choices or any(i.startswith(c) for i in info["indexes"] for c in choices)
            want = " or ".join(choices)
            ok = ok and used
            notes.append(
                f"{q}: {'uses' if used else 'does NOT use'} {want}"
                + (f" (seq scan: {', '.join(info['seq_scans'])})" if info["seq_scans"] else "")
            )
        row = compare(
            f"raw SQL: {page}",
            stats,
            target="p95 < 100 ms; expected index used",
            p95_under_ms=100,
            note="; ".join(notes),
            extra={"explain": plans},
        )
        row.met = bool(row.met and ok)
        rows.append(row)
    return rows
