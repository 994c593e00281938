from datetime import date, datetime

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, example, given, settings

from centers.models import Center, Region
from centers.selectors import Actor
from stats.cube import CENTER_LEVELS  # noqa: F401  (documents which sets exist)
from stats.definitions import SEOUL
from stats.selectors import StatsQuery, stats_report
from stats.services import stats_refresh_month
from stats.tests.direct import direct_rows, report_key
from stats.tests.history import build_history, history_strategy

pytestmark = pytest.mark.sqlite

ADMIN = Actor(user_id=None, role="admin", center_id=None)
NOW = datetime(2026, 3, 28, 12, 0, tzinfo=SEOUL)
MONTHS = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
FIGURES = [
    "clients", "walk_ins", "referrals_sent", "referrals_received", "accepted", "declined", "timeouts", "rejected",
    "completed", "achieved", "failed", "cancelled", "open", "sla_breaches", "routed", "colocated", "outcomes",
    "achieved_outcomes", "fail_reasons", "placements", "median_hours_to_accept", "p90_hours_to_accept",
    "median_hours_to_complete", "p90_hours_to_complete", "colocated_share",
]  # fmt: skip


def queries():
    seoul = Region.objects.get(code="11")
    gwanak = Center.objects.get(code="EW-SEOUL-GWANAK")
    for group in ["month", "center", "region", "kind", "domain", "service", "desk", "channel"]:
        yield StatsQuery(MONTHS[0], MONTHS[-1], group)
    yield StatsQuery(MONTHS[0], MONTHS[-1], "center", region=seoul, domain="finance")
    yield StatsQuery(MONTHS[0], MONTHS[-1], "service", kind="microfinance")
    yield StatsQuery(MONTHS[0], MONTHS[-1], "month", center=gwanak, domain="welfare")
    yield StatsQuery(MONTHS[1], MONTHS[2], "desk", region=seoul, kind="employment_welfare")
    yield StatsQuery(MONTHS[0], MONTHS[-1], "domain", region=seoul, kind="local_government")


def _placement(client: int, desk: int, suspect: bool | None, minute: int) -> dict:
    return {
        "client": client, "center": 0, "service": 0, "desk": desk, "minute": minute, "status": "completed",
        "accept_min": 60, "close_min": 3 * 24 * 60, "accept_due_min": None, "close_due_min": None,
        "achieved": True, "outcome": 0, "colocated": None, "reason": "other", "channel": "walk_in",
        "declines": [], "timeout": False, "placement": suspect,
    }  # fmt: skip


PLACEMENTS_HISTORY = {
    "clients": [("F", 1980 + i, 1 + i) for i in range(8)],
    "walk_ins": [],
    "referrals": [
        _placement(0, 5, True, 10),
        _placement(1, 5, False, 20),
        _placement(2, 3, False, 40 * 24 * 60),
        _placement(3, 5, None, 30),
    ],
}


def assert_rollup_matches_direct() -> None:
    for q in queries():
        report = stats_report(actor=ADMIN, query=q)
        got = {report_key(r, q.group): {f: r.values[f] for f in FIGURES} for r in report.rows}
        want = direct_rows(query=q, as_of=NOW)
        assert got == want, (q, sorted(set(got) ^ set(want)))
        # The totals row merges histograms across months and groups: still exactly the direct figures.
        want_total = direct_rows(query=q, as_of=NOW, total=True).get(("", ()))
        if want_total is not None:
            got_total = {f: report.total.values[f] for f in FIGURES if f != "clients"}
            assert got_total == {f: want_total[f] for f in FIGURES if f != "clients"}, q
        # Age band × gender breakdown of the last month, with exact distinct clients.
        got_b = {(r.keys["age_band"], r.keys["gender"]): r.values["clients"] for r in report.breakdown}
        last = StatsQuery(q.end, q.end, q.group, q.center, q.kind, q.region, q.domain)
        want_b = {k[1]: v["clients"] for k, v in direct_rows(query=last, as_of=NOW, breakdown=True).items()}
        assert got_b == want_b, q


@pytest.mark.django_db
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=history_strategy)
# Draws rarely complete a job placement through a posting: one history that has both kinds of employer.
@example(history=PLACEMENTS_HISTORY)
def test_rollup_equals_direct_computation_for_every_figure_and_grouping(directory, history):
    sid = transaction.savepoint()
    try:
        build_history(history)
        with time_machine.travel(NOW, tick=False):
            for m in MONTHS:
                stats_refresh_month(month=m)
        assert_rollup_matches_direct()
    finally:
        transaction.savepoint_rollback(sid)
