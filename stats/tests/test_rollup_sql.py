from datetime import date, datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from django.forms.models import model_to_dict
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from referral.models import Status
from stats.cube import GROUPING_SETS
from stats.definitions import SEOUL
from stats.models import MonthlyCell
from stats.services import stats_refresh_month
from stats.tests.history import ReferralFactory, build_history, history_strategy, routed_to
from stats.tests.oracle import month_cells

pytestmark = pytest.mark.sqlite

# The history's window (2026-01-01 + 85 days, Seoul) and a month on each side of it, which has no facts.
MONTHS = [date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1), date(2026, 4, 1)]
# Roll-up times inside and after the window, so SLA breaches of still-waiting referrals vary.
AS_OF = [datetime(2026, 1, 20, 9, 0, tzinfo=SEOUL), datetime(2026, 3, 28, 12, 0, tzinfo=SEOUL)]
KEY = ("gset", "center", "region", "kind", "desk", "service", "domain", "channel", "age_band", "gender")


def by_key(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, Any]]:
    out = {}
    for row in rows:
        row.pop("id", None)
        key = tuple(row[k] for k in KEY)
        assert key not in out, key
        out[key] = row
    return out


@pytest.mark.django_db
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(history=history_strategy, as_of=st.sampled_from(AS_OF))
def test_rollup_writes_exactly_the_cells_of_the_python_oracle(directory, history, as_of):
    sid = transaction.savepoint()
    try:
        build_history(history)
        for month in MONTHS:
            written = stats_refresh_month(month=month, as_of=as_of)
            got = by_key([model_to_dict(c) for c in MonthlyCell.objects.filter(month=month)])
            want = by_key([model_to_dict(c) for c in month_cells(month, as_of=as_of)])
            assert written == len(got)
            assert set(got) == set(want), (month, sorted(set(got) ^ set(want), key=str)[:5])
            for key, row in want.items():
                assert got[key] == row, (month, key)
            if want:
                assert {k[0] for k in want} == set(GROUPING_SETS)
    finally:
        transaction.savepoint_rollback(sid)


@pytest.mark.django_db
def test_durations_are_whole_tenths_of_an_hour_rounded_down_to_the_microsecond(directory):
    # Sub-second timestamps near a tenth's edge: the one place the two databases read a timestamp differently.
    created = datetime(2026, 2, 3, 9, 0, 0, 250_000, tzinfo=SEOUL)
    waits = [timedelta(seconds=360, microseconds=-1), timedelta(seconds=360), timedelta(hours=5, microseconds=1)]
    for wait in waits:
        ReferralFactory(
            created_at=created, status=Status.ACCEPTED, accepted_at=created + wait, **routed_to("MF-SEOUL-GWANAK-FIN")
        )
    stats_refresh_month(month=date(2026, 2, 1), as_of=datetime(2026, 3, 1, tzinfo=SEOUL))
    national = MonthlyCell.objects.get(month=date(2026, 2, 1), gset="//")
    assert national.accept_hist == {"0": 1, "1": 1, "50": 1}
    assert (national.p50_accept, national.p90_accept, national.accept_n) == (0.1, 5.0, 3)
