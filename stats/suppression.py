"""Small-cell suppression for the ministry (and its exports).

Rule, applied to every figure shown to the ministry:
1. A count from 1 to 4 is shown as "<5", never the number (0 is shown: it identifies no one).
2. If a row counts 1–4 distinct clients, every non-zero figure of that row is "<5".
3. A median or p90 computed from fewer than 5 durations, and a co-located share whose numerator,
   denominator or complement is 1–4, is "<5".
4. Secondary suppression: where members of a family add up to a figure shown elsewhere (the rows of a
   month add up to the month's total; outcome codes to "achieved"/"completed"; failure reasons to
   "failed"; age × gender cells to the month), one "<5" alone could be recovered by subtraction, so the
   smallest other non-zero member is hidden as "*". A change against the previous month or a total
   built from a hidden figure is hidden too.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from stats.cube import COUNTS, TALLIES

SUPPRESSED = "<5"
MASKED = "*"

# Every count the cube stores, plus the per-row figures derived from it.
COUNT_KEYS = ("clients", *COUNTS, "accept_basis", "complete_basis")
DERIVED_KEYS = (
    "median_hours_to_accept",
    "p90_hours_to_accept",
    "median_hours_to_complete",
    "p90_hours_to_complete",
    "colocated_share",
)
TALLY_KEYS = TALLIES


def small(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 4


def hidden(v: Any) -> bool:
    return isinstance(v, str)


def _secondary(members: list[tuple[dict, str]]) -> None:
    """If exactly one member of a family is hidden, hide the smallest other non-zero one too."""
    if sum(1 for d, k in members if hidden(d.get(k))) != 1:
        return
    visible = [(d[k], i) for i, (d, k) in enumerate(members) if isinstance(d.get(k), int) and d[k] > 0]
    if visible:
        _, i = min(visible)
        d, k = members[i]
        d[k] = MASKED


def suppress_values(v: dict[str, Any]) -> None:
    row_small = small(v.get("clients"))
    for k in COUNT_KEYS:
        if k in v and (small(v[k]) or (row_small and isinstance(v[k], int) and v[k] > 0)):
            v[k] = SUPPRESSED
    for t, parent in (
        ("outcomes", "completed"),
        ("achieved_outcomes", "achieved"),
        ("fail_reasons", "failed"),
        ("placements", "achieved"),
    ):
        tally = v.get(t) or {}
        for code, n in tally.items():
            if small(n) or (row_small and n > 0) or (hidden(v.get(parent)) and n > 0):
                tally[code] = SUPPRESSED
        _secondary([(tally, code) for code in tally])
    for prefix, basis, count in (("accept", "accept_basis", "accepted"), ("complete", "complete_basis", "completed")):
        if hidden(v.get(basis)) or hidden(v.get(count)):
            for k in (f"median_hours_to_{prefix}", f"p90_hours_to_{prefix}"):
                if v.get(k) is not None:
                    v[k] = SUPPRESSED
    routed, colocated = v.get("routed"), v.get("colocated")
    if v.get("colocated_share") is not None and (
        hidden(routed)
        or hidden(colocated)
        or (isinstance(routed, int) and isinstance(colocated, int) and small(routed - colocated))
    ):
        v["colocated_share"] = SUPPRESSED


def suppress_rows(rows: Iterable[Any]) -> None:
    for r in rows:
        suppress_values(r.values)


def suppress_table(rows: list[Any], total: Any | None) -> None:
    suppress_rows(rows)
    families: dict[str, list[Any]] = {}
    for r in rows:
        families.setdefault(r.month, []).append(r)
    for members in [*families.values(), rows]:
        for k in COUNT_KEYS:
            _secondary([(r.values, k) for r in members if k in r.values])
    if total is not None:
        tv = total.values
        for k in COUNT_KEYS:
            if k in tv and small(tv[k]):
                tv[k] = SUPPRESSED
        suppress_values(tv)
        for k in (*COUNT_KEYS, *DERIVED_KEYS):
            if k in tv and tv[k] is not None and not hidden(tv[k]):
                # A total over rows of which exactly one is hidden would reveal it: already handled by
                # the secondary rule above; a total built from only hidden rows reveals their sum.
                if (
                    rows
                    and all(hidden(r.values.get(k)) or not r.values.get(k) for r in rows)
                    and any(hidden(r.values.get(k)) for r in rows)
                ):
                    tv[k] = MASKED


def change(cur: Any, prev: Any) -> Any:
    if cur is None or prev is None:
        return None
    if hidden(cur) or hidden(prev):
        return MASKED
    return round(cur - prev, 1) if isinstance(cur, float) or isinstance(prev, float) else cur - prev


def total_of(values: list[Any]) -> Any:
    if any(hidden(v) for v in values):
        return MASKED
    total = sum(v or 0 for v in values)
    return SUPPRESSED if small(total) else total
