"""Reads of the rollup for a user: only stats.models.MonthlyCell, never the raw referrals.

Scope: ministry → every center, aggregated, small cells suppressed (stats.suppression); center staff →
their own center, unsuppressed; admin → everything, unsuppressed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connections, router
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from centers.models import Center, CenterKind, Domain, Region
from centers.selectors import Actor
from core.errors import PermissionDenied
from stats import suppression
from stats.cube import COUNTS, HISTOGRAMS, TALLIES, gset_for
from stats.definitions import AGE_BANDS, PERCENTILES, percentile_from_hist
from stats.forms import _shift
from stats.models import MonthlyCell, MonthState
from stats.rollup import nearest_rank_sql

# Columns of the table, the CSV and the XLSX, in order: (key, English header, kind); headers are
# translated where shown, so they are only marked here.
FIGURES: list[tuple[str, str, str]] = [
    ("clients", gettext_noop("Clients"), "count"),
    ("walk_ins", gettext_noop("Walk-ins"), "count"),
    ("referrals_sent", gettext_noop("Referrals sent"), "count"),
    ("referrals_received", gettext_noop("Referrals received"), "count"),
    ("accepted", gettext_noop("Accepted"), "count"),
    ("declined", gettext_noop("Declined"), "count"),
    ("rejected", gettext_noop("Rejected"), "count"),
    ("completed", gettext_noop("Completed"), "count"),
    ("achieved", gettext_noop("Achieved outcomes"), "count"),
    ("failed", gettext_noop("Failed"), "count"),
    ("cancelled", gettext_noop("Cancelled"), "count"),
    ("open", gettext_noop("Still open"), "count"),
    ("timeouts", gettext_noop("Accept deadline passed"), "count"),
    ("sla_breaches", gettext_noop("SLA breaches"), "count"),
    ("colocated_share", gettext_noop("Co-located share"), "share"),
    ("median_hours_to_accept", gettext_noop("Median hours to accept"), "hours"),
    ("p90_hours_to_accept", gettext_noop("P90 hours to accept"), "hours"),
    ("median_hours_to_complete", gettext_noop("Median hours to complete"), "hours"),
    ("p90_hours_to_complete", gettext_noop("P90 hours to complete"), "hours"),
]
# Marked only: gettext is applied where a label is used, and the mark keeps them in the catalog.
GENDER_LABELS = {
    "F": gettext_noop("Female"),
    "M": gettext_noop("Male"),
    "X": gettext_noop("Other / not stated"),
    "": gettext_noop("Not recorded"),
}


@dataclass(frozen=True)
class StatsQuery:
    start: date
    end: date
    group: str = "month"
    center: Center | None = None
    kind: str = ""
    region: Region | None = None
    domain: str = ""

    def months(self) -> list[date]:
        out, m = [], self.start
        while m <= self.end:
            out.append(m)
            m = _shift(m, 1)
        return out


@dataclass
class Row:
    month: str
    keys: dict[str, Any]
    labels: dict[str, str]
    values: dict[str, Any]
    hists: dict[str, Counter] = field(default_factory=dict)


@dataclass
class StatsReport:
    query: StatsQuery
    suppressed: bool
    columns: list[tuple[str, str]]  # group label columns: (key, header)
    rows: list[Row]
    total: Row
    series: list[Row]  # per month, filters only (trend, headline, time-to-accept)
    headline: dict[str, dict[str, Any]]
    by_domain: list[Row]
    funnel: list[tuple[str, Any]]
    breakdown: list[Row]
    computed_at: Any


_PERCENTILES_SQL = """
WITH h AS (
    SELECT (e.key)::int AS v, sum((e.value)::int) AS n
    FROM stats_monthlycell c, jsonb_each_text(c.{field}) e
    WHERE c.id = ANY(%s) GROUP BY 1
), t AS (SELECT v, sum(n) OVER (ORDER BY v) AS cum, sum(n) OVER () AS total FROM h)
SELECT min(v) FILTER (WHERE cum >= {p50}), min(v) FILTER (WHERE cum >= {p90}), max(total)
FROM t
"""


def _merged_percentiles(cell_ids: list[int], field: str) -> tuple[float | None, float | None, int]:
    """Nearest-rank median and p90 (hours) over the merged histograms of several cells."""
    if not cell_ids:
        return None, None, 0
    db = connections[router.db_for_read(MonthlyCell)]  # the replica when the view reads it (core.replica)
    if db.vendor == "postgresql":
        # Merging in the database: a national year of histograms is ~300k entries, too slow to decode here.
        with db.cursor() as cur:
            ranks = {label: nearest_rank_sql(p, "total") for label, p in PERCENTILES.items()}
            cur.execute(_PERCENTILES_SQL.format(field=field, **ranks), [cell_ids])
            p50, p90, n = cur.fetchone()
        return (p50 / 10 if p50 is not None else None, p90 / 10 if p90 is not None else None, int(n or 0))
    hist: Counter = Counter()
    for h in MonthlyCell.objects.filter(id__in=cell_ids).values_list(field, flat=True):
        hist.update({int(k): n for k, n in h.items()})
    p50, p90 = (percentile_from_hist(hist, p) for p in PERCENTILES.values())
    return p50, p90, sum(hist.values())


def _values(cells: list[MonthlyCell], *, percentiles: bool = True) -> dict[str, Any]:
    """Combine cells of one grouping set: counts sum; percentiles are the cell's own, or merged exactly."""
    v: dict[str, Any] = {c: 0 for c in COUNTS}
    tallies: dict[str, Counter] = {t: Counter() for t in TALLIES}
    v["clients"] = cells[0].clients if len(cells) == 1 else None
    for c in cells:
        for k in COUNTS:
            v[k] += getattr(c, k)
        for t in TALLIES:
            tallies[t].update(getattr(c, t))
    for t in TALLIES:
        v[t] = dict(sorted(tallies[t].items()))
    v.update(median_hours_to_accept=None, p90_hours_to_accept=None, median_hours_to_complete=None)
    v.update(p90_hours_to_complete=None, accept_basis=0, complete_basis=0)
    if len(cells) == 1:
        c = cells[0]
        v.update(median_hours_to_accept=c.p50_accept, p90_hours_to_accept=c.p90_accept, accept_basis=c.accept_n)
        v.update(median_hours_to_complete=c.p50_complete, p90_hours_to_complete=c.p90_complete)
        v["complete_basis"] = c.complete_n
    elif cells and percentiles:
        ids = [c.pk for c in cells]
        a50, a90, an = _merged_percentiles(ids, "accept_hist")
        c50, c90, cn = _merged_percentiles(ids, "complete_hist")
        v.update(median_hours_to_accept=a50, p90_hours_to_accept=a90, accept_basis=an)
        v.update(median_hours_to_complete=c50, p90_hours_to_complete=c90, complete_basis=cn)
    v["colocated_share"] = round(v["colocated"] / v["routed"], 4) if v["routed"] else None
    return v


def _scope(actor: Actor, q: StatsQuery) -> tuple[StatsQuery, bool]:
    if actor.is_ministry:
        return q, True
    if actor.is_admin:
        return q, False
    if actor.is_center_staff:
        if q.center is not None and q.center.pk != actor.center_id:
            raise PermissionDenied(_("You can see the statistics of your own center only."))
        own = Center.objects.select_related("region").get(pk=actor.center_id or 0)
        return StatsQuery(q.start, q.end, q.group, own, q.kind, q.region, q.domain), False
    raise PermissionDenied(_("Your account has no role that may see statistics."))


def _cells(q: StatsQuery, *, group: str, start: date, end: date, breakdown: bool = False) -> QuerySet[MonthlyCell]:
    gset = gset_for(
        center=q.center is not None,
        region=q.region is not None,
        kind=bool(q.kind),
        domain=bool(q.domain),
        group=group,
        breakdown=breakdown,
    )
    # Histograms are only decoded in the database (see _merged_percentiles).
    qs = MonthlyCell.objects.filter(gset=gset, month__gte=start, month__lte=end).defer(*HISTOGRAMS)
    if q.center is not None:
        qs = qs.filter(center=q.center)
    if q.region is not None:
        qs = qs.filter(region=q.region)
    if q.kind:
        qs = qs.filter(kind=q.kind)
    if q.domain:
        qs = qs.filter(domain=q.domain)
    return qs


def _group_columns(group: str) -> list[tuple[str, str]]:
    return {
        "month": [],
        "center": [("center", _("Center")), ("region", _("Region")), ("kind", _("Center kind"))],
        "region": [("region", _("Region"))],
        "kind": [("kind", _("Center kind"))],
        "domain": [("domain", _("Domain"))],
        "service": [("service", _("Service")), ("domain", _("Domain"))],
        "desk": [("desk", _("Desk")), ("center", _("Center"))],
        "channel": [("channel", _("Channel"))],
    }[group]


def _labels(cell: MonthlyCell, regions: dict[int, Region]) -> tuple[dict[str, Any], dict[str, str]]:
    from cases.models import Channel

    keys: dict[str, Any] = {}
    labels: dict[str, str] = {}
    if cell.center is not None:
        keys["center"] = cell.center.code
        labels["center"] = cell.center.name
    if cell.region_id:
        keys["region"] = regions[cell.region_id].code
        labels["region"] = regions[cell.region_id].name
    if cell.kind:
        keys["kind"] = cell.kind
        labels["kind"] = str(CenterKind(cell.kind).label)
    if cell.desk is not None:
        keys["desk"] = cell.desk.code
        labels["desk"] = cell.desk.name
    if cell.service is not None:
        keys["service"] = cell.service.code
        labels["service"] = cell.service.name
    if cell.domain:
        keys["domain"] = cell.domain
        labels["domain"] = str(Domain(cell.domain).label)
    if cell.channel:
        keys["channel"] = cell.channel
        labels["channel"] = str(Channel(cell.channel).label)
    return keys, labels


def stats_report(*, actor: Actor, query: StatsQuery) -> StatsReport:
    q, suppress = _scope(actor, query)
    regions = {r.pk: r for r in Region.objects.all()}
    group = q.group

    table_cells = list(
        _cells(q, group=group, start=q.start, end=q.end)
        .select_related("center", "desk", "service")
        .order_by(
            "month", "region_id", "kind", "center__code", "domain", "service__sort_order", "desk__code", "channel"
        )
    )
    rows = []
    for c in table_cells:
        values = _values([c])
        keys, labels = _labels(c, regions)
        if group == "domain" and not c.domain:
            labels["domain"] = _("No referral (walk-in only)")
        rows.append(Row(f"{c.month:%Y-%m}", keys, labels, values))
    previous = _shift(q.start, -1)
    series_cells = {c.month: c for c in _cells(q, group="month", start=previous, end=q.end)}
    # The rows of any grouping partition the same facts, so the totals row is the filters-only cells of
    # the range merged: a dozen histograms instead of hundreds.
    total_values = _values([c for m, c in series_cells.items() if m >= q.start])
    total_values["clients"] = None  # distinct clients do not add up across rows or months
    total = Row("", {}, {}, total_values)
    series = []
    for m in [previous, *q.months()]:
        cell = series_cells.get(m)
        values = _values([cell] if cell else [])
        if cell is None:
            values["clients"] = 0
        series.append(Row(f"{m:%Y-%m}", {}, {}, values))

    domain_rows: dict[str, list[MonthlyCell]] = {}
    for c in _cells(q, group="domain", start=q.start, end=q.end).exclude(domain=""):
        domain_rows.setdefault(c.domain, []).append(c)
    by_domain = []
    for d in Domain:
        values = _values(domain_rows.get(d.value, []), percentiles=False)
        by_domain.append(Row("", {"domain": d.value}, {"domain": str(d.label)}, values))

    last = q.end
    breakdown_cells = {
        (c.age_band, c.gender): c for c in _cells(q, group="month", start=last, end=last, breakdown=True)
    }
    breakdown = []
    for (band, gender), c in sorted(breakdown_cells.items(), key=lambda kv: (_band_order(kv[0][0]), kv[0][1])):
        values = _values([c])
        labels = {"age_band": band or _("Age unknown"), "gender": _(GENDER_LABELS.get(gender, gender))}
        breakdown.append(Row(f"{last:%Y-%m}", {"age_band": band, "gender": gender}, labels, values))

    if suppress:
        suppression.suppress_table(rows, total)
        suppression.suppress_rows(series)
        suppression.suppress_rows(by_domain)
        suppression.suppress_table(breakdown, None)

    headline = {}
    cur, prev = series[-1].values, series[-2].values
    for key in ("walk_ins", "clients", "referrals_sent", "accepted", "completed", "achieved", "median_hours_to_accept"):
        headline[key] = {"value": cur[key], "change": suppression.change(cur[key], prev[key])}
    tot = series[1:]
    funnel = [
        (_("Referred"), suppression.total_of([r.values["referrals_sent"] for r in tot])),
        (_("Accepted"), suppression.total_of([r.values["accepted"] for r in tot])),
        (_("Completed"), suppression.total_of([r.values["completed"] for r in tot])),
        (_("Achieved outcomes"), suppression.total_of([r.values["achieved"] for r in tot])),
    ]
    state = MonthState.objects.filter(month=q.end).first()
    return StatsReport(
        query=q,
        suppressed=suppress,
        columns=_group_columns(group),
        rows=rows,
        total=total,
        series=series[1:],
        headline=headline,
        by_domain=by_domain,
        funnel=funnel,
        breakdown=breakdown,
        computed_at=state.computed_at if state else None,
    )


def _band_order(band: str) -> int:
    return AGE_BANDS.index(band) if band in AGE_BANDS else len(AGE_BANDS)
