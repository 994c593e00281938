# ruff: noqa: S608  (the SQL is assembled from this module's constants; values go as parameters)
"""The rollup of stats.cube computed inside PostgreSQL: one INSERT … SELECT writes a month's cells.

Same facts, same cells, same numbers as `aggregate(month_facts(...))` (a property test compares every
column of every cell); each rule of stats.definitions is restated in SQL next to where it applies.
The Python path builds an object per fact and visits every grouping set per fact — about 100 s per
200k facts; this one lets PostgreSQL aggregate and never ships a fact to Python.

How the statement is shaped, and why:
- `fact`: one row per walk-in, per referral sent, per referral at its desk (or sending center), per
  decline/timeout event — the rows of `month_facts`, with the fact's counts, tally codes and durations.
- Counts add up, so they are summed once per finest key (`base`) and then per grouping set with
  GROUPING SETS over those few thousand rows.
- Distinct clients do not add up. Each set's (key, client) pairs are taken DISTINCT from the pairs of
  a finer set (desk → center → region+kind → region / kind → national; service → domain → none),
  never from the facts again, so each step reads fewer rows. Age band and gender belong to the client,
  so the pairs of "<c>/<s>/" carry them and also give the clients of "<c>/<s>/age_gender".
- Tallies and histograms add up per (key, code) / (key, tenths): rolled up along the same tree, then
  folded into JSON with json_object_agg; the percentiles are read off the cumulative histogram.
"""

from __future__ import annotations

from datetime import date, datetime

from django.db.backends.utils import CursorWrapper

from stats.cube import CENTER_LEVELS, COUNTS, DIMENSIONS, EXTRAS, GROUPING_SETS, SERVICE_LEVELS
from stats.definitions import AGE_BANDS, month_bounds

COLUMN = {
    "center": "center_id",
    "region": "region_id",
    "kind": "kind",
    "desk": "desk_id",
    "service": "service_id",
    "domain": "domain",
    "channel": "channel",
    "age_band": "age_band",
    "gender": "gender",
}
SQL_TYPE = {
    "center_id": "bigint",
    "region_id": "bigint",
    "desk_id": "bigint",
    "service_id": "bigint",
    "kind": "text",
    "domain": "text",
    "channel": "text",
    "age_band": "text",
    "gender": "text",
}
# The finer set each (center level, service level) is rolled up from; None: from the facts.
CENTER_PARENT: dict[str, str] = {
    "center": "desk",
    "region+kind": "center",
    "region": "region+kind",
    "kind": "region+kind",
    "": "region",
}
SERVICE_PARENT: dict[str, str] = {"domain": "service", "": "domain"}
# Tallies and histograms as (entry kind, JSON column): codes of kinds 1-3, tenths of an hour of 4-5.
ENTRIES = {1: "outcomes", 2: "achieved_outcomes", 3: "fail_reasons", 4: "accept_hist", 5: "complete_hist"}
ACCEPT, COMPLETE = 4, 5
# (center level, service level) pairs, each after the one it is rolled up from.
ROLLUP_ORDER = [
    (c, s) for c in ("desk", "center", "region+kind", "region", "kind", "") for s in ("service", "domain", "")
]


def _parent(c: str, s: str) -> tuple[str, str] | None:
    if s != "service":
        return (c, SERVICE_PARENT[s])
    if c != "desk":
        return (CENTER_PARENT[c], "service")
    return None


def _cols(*levels: tuple[str, ...]) -> list[str]:
    return [COLUMN[d] for level in levels for d in level]


def _name(prefix: str, c: str, s: str, e: str = "") -> str:
    return "_".join([prefix, c.replace("+", "_") or "all", s or "all", e or "none"])


def _dims(cols: list[str], gset: str) -> str:
    """The nine dimension columns of a cell row: the set's own, NULL for the others."""
    return ", ".join([f"'{gset}'::text AS gset"] + [c if c in cols else f"NULL::{SQL_TYPE[c]} AS {c}" for c in _all()])


def _all() -> list[str]:
    return [COLUMN[d] for d in DIMENSIONS]


# Facts, as in stats.cube.month_facts. Parameters: start, end, as_of, month's year, month's month.
_ZERO_COUNTS = ", ".join(f"0 AS {c}" for c in COUNTS)
_FACTS = f"""
month_referral AS MATERIALIZED (
    SELECT r.id, r.client_id, r.from_center_id, r.to_desk_id, r.service_id, s.domain,
           COALESCE(k.channel, '') AS channel, cl.birth_date, COALESCE(cl.gender, '') AS gender,
           r.status, r.created_at, r.accepted_at, r.closed_at, r.accept_due_at, r.close_due_at,
           r.outcome, r.achieved, r.reason, r.colocated
    FROM referral_referral r
    JOIN centers_service s ON s.id = r.service_id
    JOIN cases_case k ON k.id = r.case_id
    JOIN cases_client cl ON cl.id = r.client_id
    WHERE r.created_at >= %(start)s AND r.created_at < %(end)s
),
raw_fact AS (
    -- Walk-ins: at the case's center, no desk, no service.
    SELECT k.client_id, k.center_id, NULL::bigint AS desk_id, NULL::bigint AS service_id, ''::text AS domain,
           COALESCE(k.channel, '') AS channel, cl.birth_date, COALESCE(cl.gender, '') AS gender,
           {_ZERO_COUNTS.replace("0 AS walk_ins", "1 AS walk_ins")},
           NULL::text AS outcome, NULL::text AS achieved_outcome, NULL::text AS fail_reason,
           NULL::int AS accept, NULL::int AS complete
    FROM cases_case k JOIN cases_client cl ON cl.id = k.client_id
    WHERE k.opened_at >= %(start)s AND k.opened_at < %(end)s
    UNION ALL
    -- Sent: at the sending center.
    SELECT r.client_id, r.from_center_id, NULL, r.service_id, r.domain, r.channel, r.birth_date, r.gender,
           {_ZERO_COUNTS.replace("0 AS referrals_sent", "1 AS referrals_sent")},
           NULL, NULL, NULL, NULL, NULL
    FROM month_referral r
    UNION ALL
    -- At the desk it is at now (its center), or at the sending center with no desk if never routed.
    SELECT r.client_id, COALESCE(d.center_id, r.from_center_id), r.to_desk_id, r.service_id, r.domain, r.channel,
           r.birth_date, r.gender,
           0, 0,
           (r.to_desk_id IS NOT NULL)::int,
           (r.accepted_at IS NOT NULL)::int,
           0, 0,
           (r.status = 'rejected')::int,
           (r.status = 'completed')::int,
           (r.status = 'completed' AND r.achieved IS TRUE)::int,
           (r.status = 'failed')::int,
           (r.status = 'cancelled')::int,
           (r.status IN ('requested', 'accepted', 'in_progress', 'on_hold'))::int,
           -- definitions.sla_breached, with as_of = when the month is rolled up.
           (COALESCE(r.accept_due_at IS NOT NULL AND (
                (r.accepted_at IS NOT NULL AND r.accepted_at > r.accept_due_at)
                OR (r.accepted_at IS NULL AND r.status = 'requested' AND r.to_desk_id IS NOT NULL
                    AND %(as_of)s > r.accept_due_at)), FALSE)
            OR COALESCE(r.close_due_at IS NOT NULL AND (
                (r.closed_at IS NOT NULL AND r.status IN ('completed', 'failed') AND r.closed_at > r.close_due_at)
                OR (r.closed_at IS NULL AND r.status IN ('accepted', 'in_progress', 'on_hold')
                    AND %(as_of)s > r.close_due_at)), FALSE))::int,
           (r.to_desk_id IS NOT NULL AND r.colocated IS NOT NULL)::int,
           (r.to_desk_id IS NOT NULL AND r.colocated IS TRUE)::int,
           CASE WHEN r.status = 'completed' THEN r.outcome END,
           CASE WHEN r.status = 'completed' AND r.achieved IS TRUE THEN r.outcome END,
           CASE WHEN r.status = 'failed' THEN r.reason END,
           -- definitions.tenths_of_hour: whole tenths, rounded down, never negative.
           CASE WHEN r.accepted_at IS NOT NULL THEN
               GREATEST(0, floor((extract(epoch FROM r.accepted_at) - extract(epoch FROM r.created_at)) / 360))::int
           END,
           CASE WHEN r.status = 'completed' AND r.closed_at IS NOT NULL THEN
               GREATEST(0, floor((extract(epoch FROM r.closed_at) - extract(epoch FROM r.created_at)) / 360))::int
           END
    FROM month_referral r LEFT JOIN centers_desk d ON d.id = r.to_desk_id
    UNION ALL
    -- Declines and accept timeouts: at the desk that declined or let the deadline pass.
    SELECT r.client_id, COALESCE(d.center_id, r.from_center_id), e.desk_id, r.service_id, r.domain, r.channel,
           r.birth_date, r.gender,
           {_ZERO_COUNTS.replace("0 AS declined", "(e.kind = 'decline')::int").replace("0 AS timeouts", "(e.kind = 'timeout')::int")},
           NULL, NULL, NULL, NULL, NULL
    FROM month_referral r
    JOIN referral_referralevent e ON e.referral_id = r.id AND e.kind IN ('decline', 'timeout')
    LEFT JOIN centers_desk d ON d.id = e.desk_id
),
fact AS MATERIALIZED (
    SELECT f.client_id, f.center_id, c.region_id, c.kind::text AS kind, f.desk_id, f.service_id,
           f.domain::text AS domain, f.channel::text AS channel,
           -- definitions.age_band: age on the first day of the month.
           CASE WHEN f.birth_date IS NULL THEN ''
                {" ".join(f"WHEN a.age < {u} THEN '{b}'" for b, u in zip(AGE_BANDS, (20, 30, 40, 50, 60, 65), strict=False))}
                ELSE '{AGE_BANDS[-1]}' END AS age_band,
           f.gender::text AS gender,
           {", ".join(COUNTS)}, outcome, achieved_outcome, fail_reason, accept, complete
    FROM raw_fact f
    JOIN centers_center c ON c.id = f.center_id
    CROSS JOIN LATERAL (
        SELECT %(year)s - extract(year FROM f.birth_date)::int
               - (%(month)s < extract(month FROM f.birth_date)::int
                  OR (%(month)s = extract(month FROM f.birth_date)::int AND extract(day FROM f.birth_date)::int > 1))::int
               AS age
    ) a
)"""


# The columns every part of a cell carries, with the value a part that does not compute them gives.
PART_COLUMNS: list[tuple[str, str]] = (
    [("clients", "0::bigint")]
    + [(c, "0::bigint") for c in COUNTS]
    + [(j, "NULL::json") for j in ENTRIES.values()]
    + [("accept_n", "0::bigint"), ("complete_n", "0::bigint")]
    + [(p, "NULL::float8") for p in ("p50_accept", "p90_accept", "p50_complete", "p90_complete")]
)


def _part(gset: str, key: list[str], source: str, **values: str) -> str:
    """One branch of the union of cell parts: the set's key, the given columns, defaults for the rest."""
    columns = ", ".join(f"{values.get(name, default)} AS {name}" for name, default in PART_COLUMNS)
    return f"SELECT {_dims(key, gset)}, {columns} FROM {source} GROUP BY {', '.join(key) or '()'}"


def _client_ctes() -> tuple[list[str], list[str]]:
    """(CTEs of distinct (key, client) pairs, parts counting them per cell)."""
    ctes, parts = [], []
    for e, carried in (("", ["age_band", "gender"]), ("channel", ["channel"])):
        for c, s in ROLLUP_ORDER:
            cols = _cols(CENTER_LEVELS[c], SERVICE_LEVELS[s]) + carried
            parent = _parent(c, s)
            source = "fact" if parent is None else _name("pairs", *parent, e)
            name = _name("pairs", c, s, e)
            ctes.append(f"{name} AS (SELECT DISTINCT {', '.join(cols + ['client_id'])} FROM {source})")
            for extra in ("", "age_gender") if e == "" else ("channel",):
                key = _cols(CENTER_LEVELS[c], SERVICE_LEVELS[s], EXTRAS[extra])
                parts.append(_part(f"{c}/{s}/{extra}", key, name, clients="count(*)"))
    return ctes, parts


def _entry_ctes() -> tuple[list[str], list[str]]:
    """(CTEs of tally codes and durations counted per key, parts giving them per cell)."""
    finest = _cols(CENTER_LEVELS["desk"], SERVICE_LEVELS["service"], ("channel", "age_band", "gender"))
    unpivot = " UNION ALL ".join(
        f"SELECT {', '.join(finest)}, {k}::smallint AS entry, {col} AS code, NULL::int AS tenths FROM fact WHERE {col} IS NOT NULL"
        if k < ACCEPT
        else f"SELECT {', '.join(finest)}, {k}::smallint, NULL::text, {col} FROM fact WHERE {col} IS NOT NULL"
        for k, col in (
            (1, "outcome"),
            (2, "achieved_outcome"),
            (3, "fail_reason"),
            (ACCEPT, "accept"),
            (COMPLETE, "complete"),
        )
    )
    entry_cols = ["entry", "code", "tenths"]
    ctes = [
        f"entries AS (SELECT {', '.join(finest + entry_cols)}, count(*) AS n FROM ({unpivot}) u "
        f"GROUP BY {', '.join(finest + entry_cols)})"
    ]
    values = {
        j: f"json_object_agg({'code' if k < ACCEPT else 'tenths'}, n) FILTER (WHERE entry = {k})"
        for k, j in ENTRIES.items()
    }
    values |= {
        "accept_n": f"COALESCE(sum(n) FILTER (WHERE entry = {ACCEPT}), 0)",
        "complete_n": f"COALESCE(sum(n) FILTER (WHERE entry = {COMPLETE}), 0)",
        "p50_accept": _percentile(ACCEPT, 0.5),
        "p90_accept": _percentile(ACCEPT, 0.9),
        "p50_complete": _percentile(COMPLETE, 0.5),
        "p90_complete": _percentile(COMPLETE, 0.9),
    }
    parts = []
    for e in EXTRAS:
        for c, s in ROLLUP_ORDER:
            cols = _cols(CENTER_LEVELS[c], SERVICE_LEVELS[s], EXTRAS[e])
            parent = _parent(c, s)
            source = "entries" if parent is None else _name("entries", *parent, e)
            name = _name("entries", c, s, e)
            ctes.append(
                f"{name} AS (SELECT {', '.join(cols + entry_cols)}, sum(n)::bigint AS n FROM {source} "
                f"GROUP BY {', '.join(cols + entry_cols)})"
            )
            # Running total of each histogram: the sort behind it is the costliest step, so it is keyed
            # only by the columns that tell cells apart (the center implies region and kind, the
            # service the domain), and text by bytes.
            implied = {"region_id", "kind"} if "center_id" in cols else set()
            implied |= {"domain"} if "service_id" in cols else set()
            within = ", ".join(
                [f'{c} COLLATE "C"' if SQL_TYPE[c] == "text" else c for c in cols if c not in implied] + ["entry"]
            )
            running = (
                f"(SELECT *, sum(n) OVER (PARTITION BY {within} ORDER BY tenths) AS cum, "
                f"sum(n) OVER (PARTITION BY {within}) AS total FROM {name}) w"
            )
            parts.append(_part(f"{c}/{s}/{e}", cols, running, **values))
    return ctes, parts


def _count_part() -> str:
    """Counts per cell of every set: summed per finest key, then GROUPING SETS over those sums."""
    finest = _cols(CENTER_LEVELS["desk"], SERVICE_LEVELS["service"], ("channel", "age_band", "gender"))
    dims = _all()
    gset_of = " ".join(
        f"WHEN {sum(1 << (len(dims) - 1 - i) for i, col in enumerate(dims) if col not in _cols(cols))} THEN '{gset}'"
        for gset, cols in GROUPING_SETS.items()
    )
    sets = ", ".join(f"({', '.join(_cols(cols))})" for cols in GROUPING_SETS.values())
    columns = ", ".join(
        f"sum({name}) AS {name}" if name in COUNTS else f"{default} AS {name}" for name, default in PART_COLUMNS
    )
    return (
        f"SELECT CASE GROUPING({', '.join(dims)}) {gset_of} END AS gset, {', '.join(dims)}, {columns} "
        f"FROM (SELECT {', '.join(finest)}, {', '.join(f'sum({x}) AS {x}' for x in COUNTS)} FROM fact "
        f"GROUP BY {', '.join(finest)}) base "
        f"GROUP BY GROUPING SETS ({sets})"
    )


def _percentile(entry: int, p: float) -> str:
    # definitions.percentile_from_hist: the smallest value with at least max(1, ceil(p·n − 1e-9)) at or below.
    rank = f"GREATEST(1, ceil({p}::float8 * total::float8 - 1e-9::float8))"
    return f"(min(tenths) FILTER (WHERE entry = {entry} AND cum >= {rank}))::float8 / 10"


def _statement() -> str:
    client_ctes, client_parts = _client_ctes()
    entry_ctes, entry_parts = _entry_ctes()
    dims = _all()
    text_dims = {"kind", "domain", "channel", "age_band", "gender"}
    out_dims = ", ".join(f"COALESCE({d}, '')" if d in text_dims else d for d in dims)
    # Each cell has one count part, one client part and at most one entry part (none without durations
    # or tallies): the JSON and percentiles are taken from it when there is one.
    merged = ", ".join(
        f"COALESCE(((array_agg({name}) FILTER (WHERE {name} IS NOT NULL))[1])::jsonb, '{{}}')"
        if default == "NULL::json"
        else (f"max({name})" if default == "NULL::float8" else f"sum({name})")
        for name, default in PART_COLUMNS
    )
    return f"""
WITH {_FACTS},
{",\n".join(client_ctes + entry_ctes)},
cell_part AS (
{"\nUNION ALL ".join([_count_part()] + client_parts + entry_parts)}
)
INSERT INTO stats_monthlycell (month, gset, {", ".join(dims)}, {", ".join(name for name, _ in PART_COLUMNS)})
SELECT %(month_start)s, gset, {out_dims}, {merged}
FROM cell_part
GROUP BY gset, {", ".join(dims)}
-- Every fact has a client; this drops the one row an empty month's national set would get.
HAVING sum(clients) > 0
"""


STATEMENT = _statement()


def write_month_cells(cursor: CursorWrapper, *, month: date, as_of: datetime) -> int:
    """Insert every cell of `month` (its old cells already deleted); returns how many."""
    start, end = month_bounds(month)
    # JIT compiling this statement's expressions costs ~10 s and saves nothing (ends with the transaction).
    # work_mem stays at the server's setting: every CTE's hash table lives until the statement ends and
    # each may be sized up to work_mem × hash_mem_multiplier from the planner's estimate, so raising it
    # here (128 MB was tried) let one backend reach 14 GB and be killed by the OOM killer.
    cursor.execute("SET LOCAL jit = off")
    cursor.execute(
        STATEMENT,
        {"start": start, "end": end, "as_of": as_of, "year": month.year, "month": month.month, "month_start": month},
    )
    return cursor.rowcount
