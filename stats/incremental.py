"""Statistics that follow the data: a month's cells moved by the difference its changed clients make.

Every cell of a month is a sum over the month's facts (stats.rollup, stored in stats_monthfact), except its
distinct-client count. The refresh takes the clients whose facts changed since the last one (listed by
mark_dirty after each change commits, plus the open referrals whose accept or close deadline passed since:
an SLA breach moves with the clock), recounts only their facts from the raw rows with the rollup's own
fact statement, and moves every cell by (new contribution − old contribution) of those clients:

- counts, tallies and histograms add up, so their difference is exact;
- distinct clients: a client counts once in a cell when at least one of their facts falls in it. That
  depends on the client's own facts only, so the difference is exact too: +1 for a cell the client's new
  facts reach and the old did not, −1 for the reverse (a cell left with no client is deleted, as the
  rollup never writes one);
- percentiles are read again, by the rollup's nearest rank, off the updated histogram of each cell whose
  histogram moved (the histograms are exact, so the percentiles are).

The work is proportional to the changed clients (their facts × the 54 grouping sets) and the cells they
touch, not to the month. The month rebuild (stats.services.stats_refresh_month) stays as the repair tool;
the nightly rebuild first compares the cells it replaces with what it writes (stats_verify_month), and
counts a difference in `yeongye_stats_incremental_mismatches_total`. A month without stored facts (before
this existed), or marked `needs_rebuild` (a change announced without its clients), is rebuilt whole.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from referral.models import OPEN_STATUSES, Referral
from stats.cube import COUNTS, DIMENSIONS, GROUPING_SETS, HISTOGRAMS, TALLIES
from stats.definitions import PERCENTILES, month_bounds, month_start, percentile_from_hist
from stats.models import MonthFact, MonthlyCell, MonthState, PendingChange
from stats.rollup import FACT_COLUMNS, client_param, fact_params, facts_statement
from stats.services import month_lock, stats_refresh_month

logger = logging.getLogger(__name__)

_IDS = {"center": "center_id", "region": "region_id", "desk": "desk_id", "service": "service_id"}
_COLUMN = {d: _IDS.get(d, d) for d in DIMENSIONS}
_TEXT_DIMS = {d for d in DIMENSIONS if d not in _IDS}
# The fact column each tally / histogram counts.
_TALLY_OF = {
    "outcomes": "outcome",
    "achieved_outcomes": "achieved_outcome",
    "fail_reasons": "fail_reason",
    "placements": "placement",
}
_HIST_OF = {"accept_hist": "accept", "complete_hist": "complete"}
_CHUNK = 1000

Key = tuple[Any, ...]  # (gset, center_id, region_id, kind, desk_id, service_id, domain, channel, age_band, gender)


@dataclass
class Delta:
    clients: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    tallies: dict[str, Counter[str]] = field(default_factory=lambda: {t: Counter() for t in TALLIES})
    hists: dict[str, Counter[str]] = field(default_factory=lambda: {h: Counter() for h in HISTOGRAMS})


# The key of a fact's cell in each grouping set: its own values for the set's dimensions; NULL ids and empty
# text for the others, as the rollup writes them.
_SET_COLUMNS = [(gset, frozenset(dims)) for gset, dims in GROUPING_SETS.items()]


def _keys(fact: dict[str, Any]) -> list[Key]:
    out = []
    for gset, dims in _SET_COLUMNS:
        key: list[Any] = [gset]
        for d in DIMENSIONS:
            if d in dims:
                value = fact[_COLUMN[d]]
                key.append((value or "") if d in _TEXT_DIMS else value)
            else:
                key.append("" if d in _TEXT_DIMS else None)
        out.append(tuple(key))
    return out


def _add(deltas: dict[Key, Delta], facts: Sequence[dict[str, Any]], sign: int) -> None:
    """Add (sign +1) or take away (−1) one client's facts: their counts, tallies and durations per cell, and
    the client once in every cell one of the facts falls in."""
    reached: set[Key] = set()
    for fact in facts:
        for key in _keys(fact):
            reached.add(key)
            d = deltas.setdefault(key, Delta())
            for c in COUNTS:
                if fact[c]:
                    d.counts[c] += sign * fact[c]
            for tally, column in _TALLY_OF.items():
                if fact[column] is not None:
                    d.tallies[tally][fact[column]] += sign
            for hist, column in _HIST_OF.items():
                if fact[column] is not None:
                    d.hists[hist][str(fact[column])] += sign
    for key in reached:
        deltas[key].clients += sign


def _by_client(rows: Iterable[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["client_id"], []).append(row)
    return out


def _new_facts(month: date, clients: list[int], as_of: datetime) -> list[dict[str, Any]]:
    """The clients' facts of the month from the raw rows now, by the rollup's own statement."""
    out: list[dict[str, Any]] = []
    params = fact_params(connection, month=month, as_of=as_of)
    with connection.cursor() as cur:
        for start in range(0, len(clients), _CHUNK):
            params["clients"] = client_param(connection, clients[start : start + _CHUNK])
            cur.execute(facts_statement(connection.vendor, clients=True), params)
            out.extend(dict(zip(FACT_COLUMNS, row, strict=True)) for row in cur.fetchall())
    return out


def _old_facts(month: date, clients: list[int]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for start in range(0, len(clients), _CHUNK):
        out.extend(
            MonthFact.objects.filter(month=month, client_id__in=clients[start : start + _CHUNK]).values(*FACT_COLUMNS)
        )
    return out


def _take_pending(month: date) -> set[int]:
    """The clients listed as changed, taken off the list: exactly the rows this statement sees (a row
    committed after it stays for the next refresh)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("DELETE FROM stats_pendingchange WHERE month = %s RETURNING client_id", [month])
            return {row[0] for row in cur.fetchall()}
    rows = list(PendingChange.objects.filter(month=month).values_list("pk", "client_id"))
    for start in range(0, len(rows), _CHUNK):
        PendingChange.objects.filter(pk__in=[pk for pk, _ in rows[start : start + _CHUNK]]).delete()
    return {client_id for _, client_id in rows}


def _deadline_passed(month: date, since: datetime, until: datetime) -> set[int]:
    """Clients of the month's open referrals whose accept or close deadline fell in (since, until]: their SLA
    breach counts changed with the clock alone."""
    start, end = month_bounds(month)
    due = Q(accept_due_at__gt=since, accept_due_at__lte=until) | Q(close_due_at__gt=since, close_due_at__lte=until)
    return set(
        Referral.objects.filter(due, created_at__gte=start, created_at__lt=end, status__in=OPEN_STATUSES)
        .values_list("client_id", flat=True)
        .distinct()
    )


def _cell_key(cell: dict[str, Any]) -> Key:
    return (cell["gset"], *(cell[_COLUMN[d]] for d in DIMENSIONS))


_MEASURES = ["clients", *COUNTS, *TALLIES, *HISTOGRAMS, "accept_n", "complete_n"]
_MEASURES += [f"{label}_{m}" for m in ("accept", "complete") for label in PERCENTILES]


def _apply(month: date, deltas: dict[Key, Delta]) -> int:
    """Move the month's cells by the deltas; returns how many cells changed, appeared or went."""
    moved = {k: d for k, d in deltas.items() if d.clients or any(d.counts.values()) or _nonzero(d)}
    if not moved:
        return 0
    cells = {_cell_key(c): c for c in _cells_of_keys(month, moved) if _cell_key(c) in moved}
    changed: list[int] = []
    created: list[MonthlyCell] = []
    gone: list[int] = []
    for key, d in moved.items():
        cell = cells.get(key)
        row = dict(cell) if cell is not None else _empty(key)
        row["clients"] += d.clients
        for c, n in d.counts.items():
            row[c] += n
        for tally in TALLIES:
            row[tally] = _merged(row[tally], d.tallies[tally])
        for hist in HISTOGRAMS:
            if d.hists[hist]:
                row[hist] = _merged(row[hist], d.hists[hist])
                _percentiles(row, hist)
        if row["clients"] < 0 or any(row[c] < 0 for c in COUNTS):
            raise IncrementalMismatch(f"cell {key} would go negative")
        if row["clients"] == 0:
            if cell is not None:
                gone.append(cell["pk"])
            continue
        obj = MonthlyCell(month=month, gset=key[0], **{_COLUMN[d]: v for d, v in zip(DIMENSIONS, key[1:], strict=True)})
        for m in _MEASURES:
            setattr(obj, m, row[m])
        created.append(obj)
        if cell is not None:
            changed.append(cell["pk"])
    # A changed cell is written anew (nothing refers to a cell's id): one DELETE and one INSERT a thousand
    # cells, where an UPDATE of thirty columns a row would cost far more to build than to run.
    replaced = changed + gone
    for start in range(0, len(replaced), _CHUNK):
        MonthlyCell.objects.filter(pk__in=replaced[start : start + _CHUNK]).delete()
    MonthlyCell.objects.bulk_create(created, batch_size=_CHUNK)
    return len(created) + len(gone)


_SQL_TYPE = {"center_id": "bigint", "region_id": "bigint", "desk_id": "bigint", "service_id": "bigint"}


def _cells_of_keys(month: date, keys: dict[Key, Delta]) -> list[dict[str, Any]]:
    """The stored cells of these keys. PostgreSQL: their ids by one join on a VALUES list (each key looked up
    through the (gset, month) index), then the rows by id; SQLite: a filter per grouping set."""
    if connection.vendor != "postgresql":
        return list(
            MonthlyCell.objects.filter(_cells_matching(keys), month=month).values(
                "pk", "gset", *_COLUMN.values(), *_MEASURES
            )
        )
    columns = ["gset", *_COLUMN.values()]
    ids: list[int] = []
    listed = list(keys)
    with connection.cursor() as cur:
        for start in range(0, len(listed), _CHUNK):
            chunk = listed[start : start + _CHUNK]
            row = "(" + ", ".join(f"%s::{_SQL_TYPE.get(c, 'text')}" for c in columns) + ")"
            match = " AND ".join(f"c.{c} IS NOT DISTINCT FROM k.{c}" for c in columns[1:])
            cur.execute(
                f"SELECT c.id FROM (VALUES {', '.join([row] * len(chunk))}) AS k({', '.join(columns)}) "  # noqa: S608 - the module's own column names
                f"JOIN stats_monthlycell c ON c.month = %s AND c.gset = k.gset AND {match}",
                [v for key in chunk for v in key] + [month],
            )
            ids.extend(r[0] for r in cur.fetchall())
    out: list[dict[str, Any]] = []
    for start in range(0, len(ids), _CHUNK):
        out.extend(
            MonthlyCell.objects.filter(pk__in=ids[start : start + _CHUNK]).values(
                "pk", "gset", *_COLUMN.values(), *_MEASURES
            )
        )
    return out


def _cells_matching(keys: Iterable[Key]) -> Q:
    """A filter that finds at least the cells of these keys (and few others), one clause per grouping set:
    the set's own dimension columns among the values the keys hold (the index on gset and month narrows
    each clause to that set's cells of the month)."""
    values: dict[str, dict[str, set[Any]]] = {}
    for key in keys:
        per_set = values.setdefault(key[0], {})
        for d, value in zip(DIMENSIONS, key[1:], strict=True):
            per_set.setdefault(d, set()).add(value)
    dims_of = dict(_SET_COLUMNS)
    where = Q(pk__in=[])
    for gset, per_set in values.items():
        clause = Q(gset=gset)
        for d in dims_of[gset]:
            column = _COLUMN[d]
            present = per_set[d] - {None}
            match = Q(**{f"{column}__in": sorted(present, key=str)}) if present else Q(pk__in=[])
            if None in per_set[d]:
                match |= Q(**{f"{column}__isnull": True})
            clause &= match
        where |= clause
    return where


def _nonzero(d: Delta) -> bool:
    return any(v for t in d.tallies.values() for v in t.values()) or any(
        v for h in d.hists.values() for v in h.values()
    )


def _empty(key: Key) -> dict[str, Any]:
    row: dict[str, Any] = {m: 0 for m in ["clients", *COUNTS, "accept_n", "complete_n"]}
    row |= {t: {} for t in (*TALLIES, *HISTOGRAMS)}
    row |= {f"{label}_{m}": None for m in ("accept", "complete") for label in PERCENTILES}
    return row


def _merged(current: dict[str, int], delta: Counter[str]) -> dict[str, int]:
    out = Counter(current or {})
    out.update(delta)
    if any(v < 0 for v in out.values()):
        raise IncrementalMismatch("a tally or histogram would go negative")
    return {k: v for k, v in sorted(out.items()) if v}


def _percentiles(row: dict[str, Any], hist: str) -> None:
    measure = _HIST_OF[hist]
    counts = {int(k): v for k, v in row[hist].items()}
    row[f"{measure}_n"] = sum(counts.values())
    for label, p in PERCENTILES.items():
        row[f"{label}_{measure}"] = percentile_from_hist(counts, p)


class IncrementalMismatch(Exception):
    """The stored facts and cells disagree (a cell would go negative): the month is rebuilt instead."""


def stats_update_month(*, month: date, as_of: datetime | None = None) -> int:
    """Bring one month's cells up to date by the changed clients only (see the module's docstring); a month
    without stored facts, or marked for a rebuild, is rebuilt. Idempotent; returns the cells touched."""
    month = month_start(month)
    started = timezone.now()
    as_of = as_of or started
    state = MonthState.objects.filter(month=month).first()
    if (
        state is None
        or state.computed_at is None
        or state.needs_rebuild
        or not MonthFact.objects.filter(month=month).exists()
    ):
        return stats_refresh_month(month=month, as_of=as_of)
    try:
        with transaction.atomic():
            if not month_lock(month):
                return 0  # another worker is on it; the month stays dirty for the next run
            # Read again under the lock (a rebuild may have finished meanwhile); not locked itself, so
            # mark_dirty's flag never waits for a refresh.
            state = MonthState.objects.get(pk=state.pk)
            if state.needs_rebuild or state.computed_at is None:
                raise IncrementalMismatch("marked for a rebuild meanwhile")
            since = state.computed_at
            clients = sorted(_take_pending(month) | _deadline_passed(month, since, as_of))
            touched = 0
            if clients:
                old = _old_facts(month, clients)
                new = _new_facts(month, clients, as_of)
                deltas: dict[Key, Delta] = {}
                for rows, sign in ((old, -1), (new, +1)):
                    for facts in _by_client(rows).values():
                        _add(deltas, facts, sign)
                touched = _apply(month, deltas)
                for start in range(0, len(clients), _CHUNK):
                    MonthFact.objects.filter(month=month, client_id__in=clients[start : start + _CHUNK]).delete()
                MonthFact.objects.bulk_create([MonthFact(month=month, **f) for f in new], batch_size=_CHUNK)
            state.computed_at = as_of
            if state.dirty_since is not None and state.dirty_since <= started:
                state.dirty_since = None
            state.save(update_fields=["computed_at", "dirty_since"])
            return touched
    except IncrementalMismatch as exc:
        logger.warning("statistics of %s: %s; rebuilding the month", month.isoformat(), exc)
        _count_mismatch()
        return stats_refresh_month(month=month, as_of=as_of)


def _count_mismatch() -> None:
    from core.metrics import STATS_MISMATCHES

    STATS_MISMATCHES.inc()


def _cells_of(month: date) -> dict[Key, tuple[Any, ...]]:
    return {
        _cell_key(c): tuple(c[m] for m in _MEASURES)
        for c in MonthlyCell.objects.filter(month=month).values("gset", *_COLUMN.values(), *_MEASURES)
    }


def stats_verify_month(*, month: date, as_of: datetime | None = None) -> int:
    """Rebuild a month and say how many cells the rebuild changed: 0 when the incremental refreshes kept it
    exact. A difference is logged and counted (`yeongye_stats_incremental_mismatches_total`); the rebuild
    has repaired it either way. The cells' SLA breaches are compared at the same as_of."""
    month = month_start(month)
    as_of = as_of or timezone.now()
    # Bring the incremental cells to the rebuild's as_of first, so both count the same deadlines.
    stats_update_month(month=month, as_of=as_of)
    before = _cells_of(month)
    stats_refresh_month(month=month, as_of=as_of)
    after = _cells_of(month)
    differ = sum(1 for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if differ:
        logger.warning(
            "statistics of %s: the incremental cells differed from a rebuild in %d cells (repaired)", month, differ
        )
        _count_mismatch()
    return differ
