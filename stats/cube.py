"""The cube's shape: which grouping sets a month's cells come in, which measures each cell holds, and
which set answers a query. The cells are written by stats.rollup (one SQL statement on PostgreSQL and
SQLite); stats/tests/oracle.py aggregates the same facts in Python as the property tests' oracle.

A grouping set is "<center level>/<service level>/<extra>":
- center level: "" (all), "region", "kind", "region+kind", "center", "desk";
- service level: "" (all), "domain", "service";
- extra: "" , "channel", "age_gender".
A query (filters + group) is answered from the one set whose columns are exactly those it filters or
groups by (see gset_for), so distinct clients and percentiles are exact for it.
"""

from __future__ import annotations

from itertools import product

CENTER_LEVELS: dict[str, tuple[str, ...]] = {
    "": (),
    "region": ("region",),
    "kind": ("kind",),
    "region+kind": ("region", "kind"),
    "center": ("center", "region", "kind"),
    "desk": ("desk", "center", "region", "kind"),
}
SERVICE_LEVELS: dict[str, tuple[str, ...]] = {"": (), "domain": ("domain",), "service": ("service", "domain")}
EXTRAS: dict[str, tuple[str, ...]] = {"": (), "channel": ("channel",), "age_gender": ("age_band", "gender")}

GROUPING_SETS: dict[str, tuple[str, ...]] = {
    f"{c}/{s}/{e}": CENTER_LEVELS[c] + SERVICE_LEVELS[s] + EXTRAS[e]
    for c, s, e in product(CENTER_LEVELS, SERVICE_LEVELS, EXTRAS)
}
DIMENSIONS = ("center", "region", "kind", "desk", "service", "domain", "channel", "age_band", "gender")
COUNTS = (
    "walk_ins",
    "referrals_sent",
    "referrals_received",
    "accepted",
    "declined",
    "timeouts",
    "rejected",
    "completed",
    "achieved",
    "failed",
    "cancelled",
    "open",
    "sla_breaches",
    "routed",
    "colocated",
)
# "placements": achieved job placements through a named posting, by the employer's status when the placement
# was recorded ("suspect": on the suspect workplace list; "clear": not), from the completion event.
TALLIES = ("outcomes", "achieved_outcomes", "fail_reasons", "placements")
HISTOGRAMS = ("accept_hist", "complete_hist")


def gset_for(*, center: bool, region: bool, kind: bool, domain: bool, group: str, breakdown: bool = False) -> str:
    if group == "desk":
        c = "desk"
    elif center or group == "center":
        c = "center"
    else:
        c = "+".join(x for x, on in (("region", region or group == "region"), ("kind", kind or group == "kind")) if on)
    if group == "service":
        s = "service"
    elif domain or group == "domain":
        s = "domain"
    else:
        s = ""
    e = "age_gender" if breakdown else ("channel" if group == "channel" else "")
    return f"{c}/{s}/{e}"
