"""Figures follow the work: opening a case and moving a referral refresh the month's rollup."""

import datetime as dt

import pytest
from django.utils import timezone

from cases.inputs import case_opening_parse, client_facts_parse
from cases.services import case_open, client_register, consent_record
from referral.services import referral_accept, referral_create
from stats.models import MonthState

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def _month_row(api, month: str) -> dict:
    data = api.get(f"/api/v1/stats/monthly/?from={month}&to={month}&group=month").json()
    return data["results"][0]


def test_case_and_referral_changes_show_in_the_center_figures(
    counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    month = timezone.localtime().strftime("%Y-%m")
    with django_capture_on_commit_callbacks(execute=True):
        client = client_register(
            user=counselor,
            facts=client_facts_parse({"name": "신선도", "birth_date": dt.date(1985, 3, 2), "phone": "010-2222-3333"}),
        )
        consent_record(
            user=counselor,
            client=client,
            purpose="referral",
            method="paper",
            organization_kinds=["microfinance", "credit_recovery", "employment_welfare"],
        )
        case = case_open(
            user=counselor,
            client=client,
            opening=case_opening_parse(
                {"channel": "walk_in", "needs": [{"domain": "finance", "code": "debt_adjustment"}]}
            ),
        )
    api = api_for(counselor)
    row = _month_row(api, month)
    assert row["walk_ins"] == 1 and row["referrals_sent"] == 0

    with django_capture_on_commit_callbacks(execute=True):
        referral = referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    referral.refresh_from_db()
    assert referral.to_desk is not None  # routed in-process, which is an event of its own
    assert _month_row(api, month)["referrals_sent"] == 1

    with django_capture_on_commit_callbacks(execute=True):
        referral_accept(by=mf_counselor, referral_id=referral.pk)
    received = _month_row(api_for(mf_counselor), month)
    assert received["referrals_received"] == 1 and received["accepted"] == 1
    assert MonthState.objects.get().dirty_since is None


def test_a_change_during_a_rebuild_keeps_the_month_dirty(directory):
    from stats.services import _flag_dirty, stats_refresh_month

    month = timezone.localdate().replace(day=1)
    _flag_dirty(month)  # eager: flags and rebuilds at once
    assert MonthState.objects.get(month=month).dirty_since is None
    later = timezone.now() + dt.timedelta(seconds=5)
    MonthState.objects.filter(month=month).update(dirty_since=later)
    stats_refresh_month(month=month)
    assert MonthState.objects.get(month=month).dirty_since == later


def test_flagging_queues_one_rebuild_when_the_month_turns_dirty_and_none_while_it_stays_dirty(directory, monkeypatch):
    import core.queueing
    from stats.services import _flag_dirty

    queued: list[str] = []
    monkeypatch.setattr(core.queueing, "delay_safely", lambda task, *args: queued.append(args[0]))
    month = timezone.localdate().replace(day=1)

    _flag_dirty(month)  # no row yet: created dirty
    assert queued == [month.isoformat()]
    first = MonthState.objects.get(month=month).dirty_since
    assert first is not None

    _flag_dirty(month)  # already dirty: the time moves on, no second rebuild
    assert queued == [month.isoformat()]
    assert MonthState.objects.get(month=month).dirty_since > first

    MonthState.objects.filter(month=month).update(dirty_since=None)  # a rebuild finished
    _flag_dirty(month)
    assert queued == [month.isoformat(), month.isoformat()]
    assert MonthState.objects.get(month=month).dirty_since is not None
