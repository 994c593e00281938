"""The incremental refresh (stats.incremental) keeps a month's cells exactly equal to a rebuild from the raw
rows, whatever changed: referrals added for known and new clients, referrals gone, walk-ins added, and
deadlines passing with the clock alone. On PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import date, datetime
from unittest import mock

import pytest
import time_machine
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.models import Case
from referral.models import Referral, ReferralEvent
from stats.definitions import SEOUL, month_of
from stats.incremental import stats_update_month, stats_verify_month
from stats.models import MonthFact, MonthlyCell, MonthState, PendingChange
from stats.services import stats_refresh_month
from stats.tests.history import build_history, history_strategy

pytestmark = pytest.mark.sqlite

MONTHS = [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)]
FIRST = datetime(2026, 2, 10, 12, 0, tzinfo=SEOUL)  # the first rebuild: deadlines after it are still ahead
LATER = datetime(2026, 3, 28, 12, 0, tzinfo=SEOUL)  # the refresh: many of them have passed


def _list_changed(referrals: list[Referral], cases: list[Case]) -> None:
    """What mark_dirty would list after the changes: each touched referral's and case's client, by month."""
    pending = {(month_of(r.created_at), r.client_id) for r in referrals}
    pending |= {(month_of(c.opened_at), c.client_id) for c in cases}
    PendingChange.objects.bulk_create([PendingChange(month=m, client_id=c) for m, c in pending])


def _cells(month: date) -> dict:
    return {
        tuple(row[:10]): row[10:]
        for row in MonthlyCell.objects.filter(month=month).values_list(
            "gset", "center_id", "region_id", "kind", "desk_id", "service_id", "domain", "channel", "age_band",
            "gender", "clients", "walk_ins", "referrals_sent", "referrals_received", "accepted", "declined",
            "timeouts", "rejected", "completed", "achieved", "failed", "cancelled", "open", "sla_breaches",
            "routed", "colocated", "outcomes", "achieved_outcomes", "fail_reasons", "placements", "accept_hist",
            "complete_hist", "accept_n", "complete_n", "p50_accept", "p90_accept", "p50_complete", "p90_complete",
        )
    }  # fmt: skip


@pytest.mark.django_db
@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(before=history_strategy, after=history_strategy, gone=st.lists(st.integers(0, 13), max_size=4))
def test_incremental_cells_equal_a_rebuild_after_any_change(directory, before, after, gone):
    sid = transaction.savepoint()
    try:
        clients = build_history(before)
        with time_machine.travel(FIRST, tick=False):
            for m in MONTHS:
                stats_refresh_month(month=m)
        old_referrals = list(Referral.objects.order_by("pk"))
        old_cases = set(Case.objects.values_list("pk", flat=True))
        # Referrals gone (their events with them) ...
        removed = [old_referrals[i] for i in sorted(set(gone)) if i < len(old_referrals)]
        ReferralEvent.objects.filter(referral__in=removed).delete()
        Referral.objects.filter(pk__in=[r.pk for r in removed]).delete()
        # ... and a second history on top: the same clients' new walk-ins and referrals.
        build_history(after, clients=clients)
        added = list(Referral.objects.exclude(pk__in=[r.pk for r in old_referrals]))
        _list_changed(removed + added, list(Case.objects.exclude(pk__in=old_cases)))
        with time_machine.travel(LATER, tick=False):
            for m in MONTHS:
                if MonthFact.objects.filter(month=m).exists():
                    # Counted before: moved by the differences alone, never by a rebuild in disguise.
                    with mock.patch("stats.services.stats_refresh_month", side_effect=AssertionError("rebuilt")):
                        stats_update_month(month=m)
                else:
                    stats_update_month(month=m)  # never counted: rebuilt, as it must be
            incremental = {m: _cells(m) for m in MONTHS}
            # The rebuild from the raw rows at the same time: not one cell differs.
            for m in MONTHS:
                stats_refresh_month(month=m)
                assert _cells(m) == incremental[m], m
    finally:
        transaction.savepoint_rollback(sid)


@pytest.mark.django_db
def test_the_nightly_check_finds_cells_the_incremental_refresh_missed_and_rebuilds(directory, caplog):
    clients = build_history(
        {"clients": [("F", 1980, 1)] * 8, "walk_ins": [(0, 0, 10 * 24 * 60), (1, 1, 11 * 24 * 60)], "referrals": []}
    )
    with time_machine.travel(FIRST, tick=False):
        stats_refresh_month(month=MONTHS[0])
        assert stats_verify_month(month=MONTHS[0]) == 0  # nothing changed: incremental = rebuild
        # A walk-in written without telling anyone (no signal, nothing listed): the incremental cells miss it.
        build_history({"clients": [], "walk_ins": [(2, 0, 12 * 24 * 60)], "referrals": []}, clients=clients)
        stats_update_month(month=MONTHS[0])
        national = MonthlyCell.objects.get(month=MONTHS[0], gset="//")
        assert national.walk_ins == 2
        assert stats_verify_month(month=MONTHS[0]) > 0  # found ...
    assert MonthlyCell.objects.get(month=MONTHS[0], gset="//").walk_ins == 3  # ... and repaired
    assert any("differed from a rebuild" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_month_without_facts_or_marked_for_a_rebuild_is_rebuilt_whole(directory):
    build_history({"clients": [("M", 1970, 5)] * 8, "walk_ins": [(0, 0, 5 * 24 * 60)], "referrals": []})
    with time_machine.travel(FIRST, tick=False):
        stats_update_month(month=MONTHS[0])  # never counted: rebuilt
        assert MonthFact.objects.filter(month=MONTHS[0]).count() == 1
        assert MonthlyCell.objects.get(month=MONTHS[0], gset="//").walk_ins == 1
        MonthState.objects.filter(month=MONTHS[0]).update(needs_rebuild=True)
        MonthlyCell.objects.filter(month=MONTHS[0]).delete()
        stats_update_month(month=MONTHS[0])
    assert MonthlyCell.objects.get(month=MONTHS[0], gset="//").walk_ins == 1
    assert not MonthState.objects.get(month=MONTHS[0]).needs_rebuild


@pytest.mark.django_db
def test_the_rebuild_command_verifies_and_repairs_named_months(directory):
    from io import StringIO

    from django.core.management import CommandError, call_command

    build_history({"clients": [("F", 1990, 3)] * 8, "walk_ins": [(0, 0, 3 * 24 * 60)], "referrals": []})
    with time_machine.travel(FIRST, tick=False):
        out = StringIO()
        call_command("rebuild_stats", "2026-01", stdout=out)
        assert "2026-01:" in out.getvalue() and "cells rebuilt" in out.getvalue()
        out = StringIO()
        call_command("rebuild_stats", "--all", "--verify", stdout=out)
        assert "2026-01: 0 cells differed" in out.getvalue()
        with pytest.raises(CommandError, match="YYYY-MM"):
            call_command("rebuild_stats", "2026/01")
        with pytest.raises(CommandError, match="name the months"):
            call_command("rebuild_stats")
