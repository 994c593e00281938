"""Choosing a desk for a referral: candidates from the directory, a pure and explainable ranking.

Ranking, in order of weight (DESIGN.md "Routing"):
1. a desk hosted at the sending center (the outreach desk down the hall) — a flat bonus no distance beats;
2. distance from the sending center (haversine, km);
3. hours until the desk next opens on its schedule (weighted more for urgent referrals);
4. load: open referrals against capacity; a full desk is ranked after every desk with room.
Ties break on the desk code, so the same inputs always give the same choice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from centers.models import Desk, DeskClosure
from referral.models import OPEN_STATUSES, EventKind, Priority, Referral, ReferralEvent
from referral.sla import SEOUL, is_business_day

# Cost units are "km equivalents": a desk elsewhere pays this much for not being in the building.
NOT_COLOCATED_COST = 100.0
# Cost per hour of waiting for the desk to open.
OPENING_WEIGHT = {Priority.NORMAL: 0.2, Priority.URGENT: 1.0}
# Cost of a desk at 100% of capacity (scaled linearly with its load).
LOAD_WEIGHT = 10.0
TOP_N = 5


@dataclass(frozen=True)
class Candidate:
    desk_id: int
    desk_code: str
    desk_name: str
    center_id: int
    center_code: str
    center_name: str
    latitude: float
    longitude: float
    open_days: tuple[int, ...]
    opens_at: dt.time
    closes_at: dt.time
    open_referrals: int
    capacity: int
    # The desk's own closures (centers.DeskClosure) within the opening search's horizon.
    closed_days: frozenset[dt.date] = frozenset()


@dataclass(frozen=True)
class Scored:
    desk_id: int
    desk_code: str
    desk_name: str
    center_code: str
    center_name: str
    colocated: bool
    distance_km: float
    hours_to_open: float
    open_referrals: int
    capacity: int
    full: bool
    score: float

    def as_data(self) -> dict[str, Any]:
        # Every field is a plain value, so this equals dataclasses.asdict (a test holds them equal)
        # at a tenth of its cost: the synthetic generator writes one explanation per route event.
        return {name: getattr(self, name) for name in _SCORED_FIELDS}


_SCORED_FIELDS = tuple(f.name for f in fields(Scored))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    r = 6371.0088
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


OPENING_HORIZON_DAYS = 15


def next_opening(
    *,
    open_days: Iterable[int],
    opens_at: dt.time,
    closes_at: dt.time,
    now: dt.datetime,
    closed_days: Collection[dt.date] = (),
) -> tuple[dt.datetime, dt.datetime] | None:
    """The opening (start, end) that `now` falls in or that comes next, within 15 days (public holidays
    and the desk's own closures are closed); None if there is none."""
    local = now.astimezone(SEOUL)
    days = set(open_days)
    for offset in range(0, OPENING_HORIZON_DAYS):
        day = local.date() + dt.timedelta(days=offset)
        if day.weekday() not in days or not is_business_day(day) or day in closed_days:
            continue
        start = dt.datetime.combine(day, opens_at, tzinfo=SEOUL)
        end = dt.datetime.combine(day, closes_at, tzinfo=SEOUL)
        if local >= end:
            continue
        return start, end
    return None


def hours_until(start: dt.datetime, now: dt.datetime) -> float:
    """Hours from `now` to an opening's start (0 once it has started), as ranked and shown."""
    return round(max(0.0, (start - now).total_seconds() / 3600), 2)


def hours_until_open(
    *,
    open_days: Iterable[int],
    opens_at: dt.time,
    closes_at: dt.time,
    now: dt.datetime,
    closed_days: Collection[dt.date] = (),
) -> float:
    """0 while the desk is open, else hours until its next opening (public holidays and the desk's closures
    are closed); 999 if never."""
    window = next_opening(open_days=open_days, opens_at=opens_at, closes_at=closes_at, now=now, closed_days=closed_days)
    return 999.0 if window is None else hours_until(window[0], now)


def opening_weight(priority: str) -> float:
    return OPENING_WEIGHT.get(Priority(priority), OPENING_WEIGHT[Priority.NORMAL])


def placement(c: Candidate, *, from_center_id: int, from_lat: float, from_lon: float) -> tuple[bool, float]:
    """Whether the desk is in the sending center's building, and how far it is (0 when it is), in km."""
    colocated = c.center_id == from_center_id
    return colocated, 0.0 if colocated else haversine_km(from_lat, from_lon, c.latitude, c.longitude)


def cost(
    *, colocated: bool, distance_km: float, hours: float, open_referrals: int, capacity: int, weight: float
) -> float:
    """A candidate's cost in km equivalents, unrounded (see the module docstring for the terms)."""
    load = open_referrals / capacity if capacity else 1.0
    return (0.0 if colocated else NOT_COLOCATED_COST) + distance_km + weight * hours + LOAD_WEIGHT * min(load, 1.0)


def score(
    c: Candidate,
    *,
    from_center_id: int,
    from_lat: float,
    from_lon: float,
    hours: float,
    weight: float,
    placed: tuple[bool, float] | None = None,
) -> Scored:
    """One candidate's row of the ranking, `hours` to its next opening given (see hours_until_open);
    `placed` is its placement() when the caller already has it."""
    colocated, distance = placed or placement(c, from_center_id=from_center_id, from_lat=from_lat, from_lon=from_lon)
    total = cost(
        colocated=colocated,
        distance_km=distance,
        hours=hours,
        open_referrals=c.open_referrals,
        capacity=c.capacity,
        weight=weight,
    )
    return Scored(
        desk_id=c.desk_id,
        desk_code=c.desk_code,
        desk_name=c.desk_name,
        center_code=c.center_code,
        center_name=c.center_name,
        colocated=colocated,
        distance_km=round(distance, 2),
        hours_to_open=hours,
        open_referrals=c.open_referrals,
        capacity=c.capacity,
        full=c.open_referrals >= c.capacity,
        score=round(total, 2),
    )


def rank_key(s: Scored) -> tuple[bool, float, str]:
    """Best first: desks with room before full ones, then by score; ties break on the desk code."""
    return (s.full, s.score, s.desk_code)


def rank(
    candidates: Sequence[Candidate],
    *,
    from_center_id: int,
    from_lat: float,
    from_lon: float,
    priority: str,
    now: dt.datetime,
    hours_by_desk: Mapping[int, float] | None = None,
) -> list[Scored]:
    """Best first. Pure: no database, no clock of its own. `hours_by_desk`: each desk's hours_until_open at
    `now`, when the caller ranks many referrals against the same desks at the same moment."""
    weight = opening_weight(priority)
    scored = [
        score(
            c,
            from_center_id=from_center_id,
            from_lat=from_lat,
            from_lon=from_lon,
            hours=hours_by_desk[c.desk_id]
            if hours_by_desk is not None and c.desk_id in hours_by_desk
            else hours_until_open(
                open_days=c.open_days, opens_at=c.opens_at, closes_at=c.closes_at, now=now, closed_days=c.closed_days
            ),
            weight=weight,
        )
        for c in candidates
    ]
    scored.sort(key=rank_key)
    return scored


def reason_code(ranked: Sequence[Scored]) -> str:
    chosen = ranked[0]
    if len(ranked) == 1:
        return "only_candidate"
    if chosen.colocated:
        return "colocated"
    if any(s.full for s in ranked[1:]) and not chosen.full and all(s.full for s in ranked if s.colocated):
        return "others_full"
    return "best_score"


def explanation(ranked: Sequence[Scored], *, excluded: Sequence[int]) -> dict[str, Any]:
    """What the route event stores as `data` and the referral page shows as "why this desk"."""
    return {
        "chosen": ranked[0].desk_id if ranked else None,
        "reason": reason_code(ranked) if ranked else "no_candidate",
        "candidates": [s.as_data() for s in ranked[:TOP_N]],
        "candidate_count": len(ranked),
        # Desks passed over for being at capacity (ranked after every desk with room).
        "full_desks": [s.desk_code for s in ranked if s.full],
        "excluded_desks": list(excluded),
    }


# --- Reading the candidates (the only part here that touches the database). ---


def excluded_desk_ids(referral_id: int) -> list[int]:
    """Desks that declined or let the accept deadline pass on this referral: never routed back to."""
    return sorted(
        set(
            ReferralEvent.objects.filter(
                referral_id=referral_id, kind__in=[EventKind.DECLINE, EventKind.TIMEOUT], desk__isnull=False
            ).values_list("desk_id", flat=True)
        )
    )


def candidates_for(
    referral: Referral, *, organization_kinds: Iterable[str], excluded: Iterable[int]
) -> list[Candidate]:
    rows = (
        Desk.objects.filter(
            active=True,
            center__active=True,
            services=referral.service_id,
            operator_kind__in=list(organization_kinds),
        )
        .exclude(pk__in=list(excluded))
        .select_related("center")
        # A correlated count per candidate over (to_desk, status): an index-only range of the desk's
        # open referrals. The LEFT JOIN + FILTER it replaces read every referral the desk ever had
        # (~1 s a routing at 1M referrals).
        .annotate(
            open_count=Coalesce(
                Subquery(
                    Referral.objects.filter(to_desk_id=OuterRef("pk"), status__in=OPEN_STATUSES)
                    .order_by()
                    .values("to_desk_id")
                    .annotate(n=Count("*"))
                    .values("n")
                ),
                0,
            )
        )
        .order_by("code")
    )
    desks = list(rows)
    today = timezone.localdate()
    closed: dict[int, set[dt.date]] = {}
    for desk_id, day in DeskClosure.objects.filter(
        desk_id__in=[d.pk for d in desks], date__gte=today, date__lt=today + dt.timedelta(days=OPENING_HORIZON_DAYS)
    ).values_list("desk_id", "date"):
        closed.setdefault(desk_id, set()).add(day)
    return [
        Candidate(
            desk_id=d.pk,
            desk_code=d.code,
            desk_name=d.name,
            center_id=d.center_id,
            center_code=d.center.code,
            center_name=d.center.name,
            latitude=float(d.center.latitude),
            longitude=float(d.center.longitude),
            open_days=tuple(d.open_days or ()),
            opens_at=d.opens_at,
            closes_at=d.closes_at,
            open_referrals=d.open_count,  # type: ignore[attr-defined]
            capacity=d.capacity,
            closed_days=frozenset(closed.get(d.pk, ())),
        )
        for d in desks
    ]
