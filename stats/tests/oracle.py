"""The oracle of the rollup property tests: a month's cells aggregated in plain Python.

Written the obvious way (an object per fact, every grouping set visited per fact: about 100 s per 200k
facts), so it is easy to check against stats.definitions by reading; stats.rollup must write exactly
these cells, column by column, on PostgreSQL and on SQLite (test_rollup_sql.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from stats.cube import COUNTS, DIMENSIONS, GROUPING_SETS, HISTOGRAMS, TALLIES
from stats.definitions import PERCENTILES, age_band, month_bounds, percentile_from_hist, sla_breached, tenths_of_hour
from stats.models import MonthlyCell


@dataclass
class Fact:
    client_id: int
    dims: dict[str, Any]
    counts: Counter = field(default_factory=Counter)
    tallies: dict[str, str] = field(default_factory=dict)
    accept: int | None = None
    complete: int | None = None


@dataclass
class Cell:
    clients: set[int] = field(default_factory=set)
    counts: Counter = field(default_factory=Counter)
    tallies: dict[str, Counter] = field(default_factory=lambda: {t: Counter() for t in TALLIES})
    hists: dict[str, Counter] = field(default_factory=lambda: {h: Counter() for h in HISTOGRAMS})


def _placement_statuses(referral_ids: list[int]) -> dict[int, str | None]:
    """Each referral's latest completion event's placement: "suspect" / "clear" by the employer then, or None."""
    from referral.models import EventKind, ReferralEvent

    out: dict[int, str | None] = {}
    events = ReferralEvent.objects.filter(referral_id__in=referral_ids, kind=EventKind.COMPLETE).order_by("at", "pk")
    for referral_id, data in events.values_list("referral_id", "data"):
        placement = (data or {}).get("placement")
        out[referral_id] = None if placement is None else ("suspect" if placement.get("employer_suspect") else "clear")
    return out


def month_facts(month: date, *, as_of: datetime) -> list[Fact]:
    from cases.models import Case
    from centers.models import Center, Desk
    from referral.models import EventKind, Referral, ReferralEvent

    start, end = month_bounds(month)
    centers = {c["id"]: c for c in Center.objects.values("id", "region_id", "kind")}
    desks = {d["id"]: d for d in Desk.objects.values("id", "center_id")}

    def dims(center_id: int, desk_id: int | None, service_id, domain, channel, birth, gender) -> dict[str, Any]:
        c = centers[center_id]
        return {
            "center": center_id,
            "region": c["region_id"],
            "kind": c["kind"],
            "desk": desk_id,
            "service": service_id,
            "domain": domain or "",
            "channel": channel or "",
            "age_band": age_band(birth, month),
            "gender": gender or "",
        }

    facts: list[Fact] = []
    for c in Case.objects.filter(opened_at__gte=start, opened_at__lt=end).values(
        "client_id", "center_id", "channel", "client__birth_date", "client__gender"
    ):
        d = dims(c["center_id"], None, None, "", c["channel"], c["client__birth_date"], c["client__gender"])
        facts.append(Fact(c["client_id"], d, Counter(walk_ins=1)))

    referrals = list(
        Referral.objects.filter(created_at__gte=start, created_at__lt=end).values(
            "id",
            "client_id",
            "from_center_id",
            "to_center_id",
            "to_desk_id",
            "service_id",
            "service__domain",
            "case__channel",
            "client__birth_date",
            "client__gender",
            "status",
            "created_at",
            "accepted_at",
            "closed_at",
            "accept_due_at",
            "close_due_at",
            "outcome",
            "achieved",
            "reason",
            "colocated",
        )
    )
    placements = _placement_statuses([r["id"] for r in referrals])
    by_id = {}
    for r in referrals:
        by_id[r["id"]] = r
        common = (
            r["service_id"],
            r["service__domain"],
            r["case__channel"],
            r["client__birth_date"],
            r["client__gender"],
        )
        facts.append(Fact(r["client_id"], dims(r["from_center_id"], None, *common), Counter(referrals_sent=1)))
        routed = r["to_desk_id"] is not None
        center_id = desks[r["to_desk_id"]]["center_id"] if routed else r["from_center_id"]
        status = r["status"]
        f = Fact(r["client_id"], dims(center_id, r["to_desk_id"], *common))
        f.counts.update(
            referrals_received=int(routed),
            accepted=int(r["accepted_at"] is not None),
            rejected=int(status == "rejected"),
            completed=int(status == "completed"),
            achieved=int(status == "completed" and r["achieved"] is True),
            failed=int(status == "failed"),
            cancelled=int(status == "cancelled"),
            open=int(status in ("requested", "accepted", "in_progress", "on_hold")),
            routed=int(routed and r["colocated"] is not None),
            colocated=int(routed and r["colocated"] is True),
            sla_breaches=int(
                sla_breached(
                    status=status,
                    routed=routed,
                    accepted_at=r["accepted_at"],
                    accept_due_at=r["accept_due_at"],
                    closed_at=r["closed_at"],
                    close_due_at=r["close_due_at"],
                    as_of=as_of,
                )
            ),
        )
        if status == "completed":
            f.tallies["outcomes"] = r["outcome"]
            if r["achieved"] is True:
                f.tallies["achieved_outcomes"] = r["outcome"]
                placement = placements.get(r["id"])
                if placement is not None:
                    f.tallies["placements"] = placement
            if r["closed_at"] is not None:
                f.complete = tenths_of_hour(r["created_at"], r["closed_at"])
        if status == "failed":
            f.tallies["fail_reasons"] = r["reason"]
        if r["accepted_at"] is not None:
            f.accept = tenths_of_hour(r["created_at"], r["accepted_at"])
        facts.append(f)

    events = ReferralEvent.objects.filter(
        referral__created_at__gte=start, referral__created_at__lt=end, kind__in=[EventKind.DECLINE, EventKind.TIMEOUT]
    ).values("referral_id", "kind", "desk_id")
    for e in events:
        r = by_id[e["referral_id"]]
        desk_id = e["desk_id"]
        center_id = desks[desk_id]["center_id"] if desk_id else r["from_center_id"]
        common = (
            r["service_id"],
            r["service__domain"],
            r["case__channel"],
            r["client__birth_date"],
            r["client__gender"],
        )
        measure = "declined" if e["kind"] == EventKind.DECLINE else "timeouts"
        facts.append(Fact(r["client_id"], dims(center_id, desk_id, *common), Counter({measure: 1})))
    return facts


def aggregate(facts: list[Fact]) -> dict[tuple[str, tuple], Cell]:
    cells: dict[tuple[str, tuple], Cell] = defaultdict(Cell)
    for gset, cols in GROUPING_SETS.items():
        for f in facts:
            key = tuple(f.dims[d] if d in cols else None for d in DIMENSIONS)
            cell = cells[(gset, key)]
            cell.clients.add(f.client_id)
            cell.counts.update(f.counts)
            for t, code in f.tallies.items():
                cell.tallies[t][code] += 1
            if f.accept is not None:
                cell.hists["accept_hist"][f.accept] += 1
            if f.complete is not None:
                cell.hists["complete_hist"][f.complete] += 1
    return cells


def month_cells(month: date, *, as_of: datetime) -> list[MonthlyCell]:
    """Every cell of a month as unsaved rows."""
    rows = []
    for (gset, key), cell in aggregate(month_facts(month, as_of=as_of)).items():
        dims = dict(zip(DIMENSIONS, key, strict=True))
        row = MonthlyCell(
            month=month,
            gset=gset,
            center_id=dims["center"],
            region_id=dims["region"],
            desk_id=dims["desk"],
            service_id=dims["service"],
            kind=dims["kind"] or "",
            domain=dims["domain"] or "",
            channel=dims["channel"] or "",
            age_band=dims["age_band"] or "",
            gender=dims["gender"] or "",
            clients=len(cell.clients),
        )
        for c in COUNTS:
            setattr(row, c, cell.counts[c])
        for t in TALLIES:
            setattr(row, t, dict(cell.tallies[t]))
        for h in HISTOGRAMS:
            setattr(row, h, {str(k): v for k, v in cell.hists[h].items()})
        acc, comp = cell.hists["accept_hist"], cell.hists["complete_hist"]
        row.accept_n, row.complete_n = sum(acc.values()), sum(comp.values())
        for label, p in PERCENTILES.items():
            setattr(row, f"{label}_accept", percentile_from_hist(acc, p))
            setattr(row, f"{label}_complete", percentile_from_hist(comp, p))
        rows.append(row)
    return rows
