"""Statistics computed directly from the raw rows, written independently of stats.cube, for comparison."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from cases.models import Case
from referral.models import EventKind, Referral, ReferralEvent
from stats.definitions import age_band, month_of, percentile, sla_breached, tenths_of_hour


def direct_rows(*, query, as_of: datetime, breakdown: bool = False, total: bool = False) -> dict[tuple, dict[str, Any]]:
    """{(month "YYYY-MM", group key): figures} for the query's filters and group."""
    acc: dict[tuple, dict[str, Any]] = defaultdict(
        lambda: {"clients": set(), "c": Counter(), "t": defaultdict(Counter), "acc": [], "comp": []}
    )
    months = {m for m in query.months()}

    def key(at_month, center, desk, service, channel, client):
        if at_month not in months:
            return None
        if query.center is not None and center.pk != query.center.pk:
            return None
        if query.region is not None and center.region_id != query.region.pk:
            return None
        if query.kind and center.kind != query.kind:
            return None
        domain = service.domain if service else ""
        if query.domain and domain != query.domain:
            return None
        if total:
            return ("", ())
        if breakdown:
            g = (age_band(client.birth_date, at_month), client.gender or "")
        else:
            g = {
                "month": (),
                "center": (center.code,),
                "region": (center.region.code,),
                "kind": (center.kind,),
                "domain": (domain,),
                "service": (service.code if service else None,),
                "desk": (desk.code if desk else None, center.code),
                "channel": (channel,),
            }[query.group]
        return (f"{at_month:%Y-%m}", g)

    def add(k, client, **counts):
        if k is None:
            return None
        a = acc[k]
        a["clients"].add(client.pk)
        a["c"].update(counts)
        return a

    for case in Case.objects.select_related("center__region", "client"):
        add(key(month_of(case.opened_at), case.center, None, None, case.channel, case.client), case.client, walk_ins=1)

    for r in Referral.objects.select_related(
        "from_center__region", "to_desk__center__region", "service", "case", "client"
    ):
        m = month_of(r.created_at)
        add(key(m, r.from_center, None, r.service, r.case.channel, r.client), r.client, referrals_sent=1)
        center = r.to_desk.center if r.to_desk else r.from_center
        a = add(
            key(m, center, r.to_desk, r.service, r.case.channel, r.client),
            r.client,
            referrals_received=int(r.to_desk is not None),
            accepted=int(r.accepted_at is not None),
            rejected=int(r.status == "rejected"),
            completed=int(r.status == "completed"),
            achieved=int(r.status == "completed" and r.achieved is True),
            failed=int(r.status == "failed"),
            cancelled=int(r.status == "cancelled"),
            open=int(r.status in ("requested", "accepted", "in_progress", "on_hold")),
            routed=int(r.to_desk is not None and r.colocated is not None),
            colocated=int(r.to_desk is not None and r.colocated is True),
            sla_breaches=int(
                sla_breached(
                    status=r.status,
                    routed=r.to_desk is not None,
                    accepted_at=r.accepted_at,
                    accept_due_at=r.accept_due_at,
                    closed_at=r.closed_at,
                    close_due_at=r.close_due_at,
                    as_of=as_of,
                )
            ),
        )
        if a is None:
            continue
        if r.accepted_at is not None:
            a["acc"].append(tenths_of_hour(r.created_at, r.accepted_at))
        if r.status == "completed":
            a["t"]["outcomes"][r.outcome] += 1
            if r.achieved is True:
                a["t"]["achieved_outcomes"][r.outcome] += 1
                complete = r.events.filter(kind=EventKind.COMPLETE).order_by("-at", "-pk").first()
                placement = complete.data.get("placement") if complete else None
                if placement is not None:
                    a["t"]["placements"]["suspect" if placement["employer_suspect"] else "clear"] += 1
            if r.closed_at is not None:
                a["comp"].append(tenths_of_hour(r.created_at, r.closed_at))
        if r.status == "failed":
            a["t"]["fail_reasons"][r.reason] += 1

    for e in ReferralEvent.objects.filter(kind__in=[EventKind.DECLINE, EventKind.TIMEOUT]).select_related(
        "referral__from_center__region",
        "referral__service",
        "referral__case",
        "referral__client",
        "desk__center__region",
    ):
        r = e.referral
        center = e.desk.center if e.desk else r.from_center
        k = key(month_of(r.created_at), center, e.desk, r.service, r.case.channel, r.client)
        add(k, r.client, **{"declined" if e.kind == EventKind.DECLINE else "timeouts": 1})

    out = {}
    for k, a in acc.items():
        figures: dict[str, Any] = {"clients": len(a["clients"])}
        for name in (
            "walk_ins", "referrals_sent", "referrals_received", "accepted", "declined", "timeouts", "rejected",
            "completed", "achieved", "failed", "cancelled", "open", "sla_breaches", "routed", "colocated",
        ):  # fmt: skip
            figures[name] = a["c"][name]
        for t in ("outcomes", "achieved_outcomes", "fail_reasons", "placements"):
            figures[t] = dict(sorted(a["t"][t].items()))
        figures["median_hours_to_accept"] = percentile(a["acc"], 0.5)
        figures["p90_hours_to_accept"] = percentile(a["acc"], 0.9)
        figures["median_hours_to_complete"] = percentile(a["comp"], 0.5)
        figures["p90_hours_to_complete"] = percentile(a["comp"], 0.9)
        figures["colocated_share"] = round(figures["colocated"] / figures["routed"], 4) if figures["routed"] else None
        out[k] = figures
    return out


def report_key(row, group: str) -> tuple:
    k = row.keys
    g = {
        "month": (),
        "center": (k.get("center"),),
        "region": (k.get("region"),),
        "kind": (k.get("kind"),),
        "domain": (k.get("domain", ""),),
        "service": (k.get("service"),),
        "desk": (k.get("desk"), k.get("center")),
        "channel": (k.get("channel", ""),),
    }[group]
    return (row.month, g)
