"""The monthly access review on PostgreSQL: each automatic flag, notes, sign-off frozen, the unreviewed alert."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction

from cases import access_log
from cases.tests.factories import make_client
from core.errors import InvalidTransition, PermissionDenied
from privacy.access_review import review_alert_unreviewed, review_compute, review_note, review_signoff
from privacy.retention_models import AccessFlag, AccessReview, FlagKind
from referral.models import Notification
from stats.definitions import SEOUL

pytestmark = pytest.mark.django_db

MONTH = dt.date(2026, 10, 1)


def _log(user: Any, client_id: int, at: dt.datetime, action: str = "read") -> None:
    access_log.append(
        [
            access_log.Entry(
                user_id=user.pk,
                client_id=client_id,
                action=action,
                view="cases:client_detail",
                ip_address=None,
                reason="",
            )
        ],
        at=at,
    )


def _flags(review: AccessReview, user: Any) -> dict[str, list[AccessFlag]]:
    out: dict[str, list[AccessFlag]] = {}
    for f in review.flags.filter(user=user):
        out.setdefault(f.kind, []).append(f)
    return out


def test_reads_outside_office_hours_are_flagged_with_the_rows_behind_them(counselor):
    client = make_client(counselor)
    wednesday = dt.datetime(2026, 10, 14, 10, 0, tzinfo=SEOUL)
    _log(counselor, client.pk, wednesday)  # office hours
    _log(counselor, client.pk, wednesday.replace(hour=21, minute=30))  # after 20:00
    _log(counselor, client.pk, wednesday.replace(hour=7, minute=59))  # before 08:00
    _log(counselor, client.pk, dt.datetime(2026, 10, 17, 11, 0, tzinfo=SEOUL))  # Saturday
    _log(counselor, client.pk, dt.datetime(2026, 10, 9, 11, 0, tzinfo=SEOUL))  # 한글날, a public holiday
    review = review_compute(month=MONTH)
    flags = _flags(review, counselor)
    assert set(flags) == {FlagKind.OFF_HOURS}
    (flag,) = flags[FlagKind.OFF_HOURS]
    assert flag.rows == 4 and len(flag.row_seqs) == 4
    assert flag.first_at == dt.datetime(2026, 10, 9, 11, 0, tzinfo=SEOUL)


def test_every_download_is_a_flag(counselor):
    client = make_client(counselor)
    at = dt.datetime(2026, 10, 14, 10, 0, tzinfo=SEOUL)
    _log(counselor, client.pk, at, action="download")
    _log(counselor, client.pk, at + dt.timedelta(hours=1), action="download")
    _log(counselor, client.pk, at + dt.timedelta(hours=2), action="print")
    flags = _flags(review_compute(month=MONTH), counselor)
    assert set(flags) == {FlagKind.DOWNLOAD} and len(flags[FlagKind.DOWNLOAD]) == 2


def test_many_different_clients_in_a_short_time_is_flagged_once_per_burst(counselor, manager, settings):
    settings.ACCESS_REVIEW_BURST_CLIENTS, settings.ACCESS_REVIEW_BURST_MINUTES = 20, 60
    clients = [make_client(counselor) for _ in range(25)]
    start = dt.datetime(2026, 10, 14, 10, 0, tzinfo=SEOUL)
    for i, c in enumerate(clients):
        _log(counselor, c.pk, start + dt.timedelta(minutes=2 * i))  # 25 clients in 48 minutes
        _log(manager, c.pk, start + dt.timedelta(minutes=25 * i))  # 25 clients over 10 hours: not a burst
    review = review_compute(month=MONTH)
    bursts = _flags(review, counselor)[FlagKind.MANY_CLIENTS]
    assert len(bursts) == 1 and bursts[0].rows == 20
    assert FlagKind.MANY_CLIENTS not in _flags(review, manager)


def test_reads_far_above_the_users_own_usual_are_flagged(counselor, manager, settings):
    settings.ACCESS_REVIEW_READS_FACTOR, settings.ACCESS_REVIEW_READS_MIN = 3, 50
    client = make_client(counselor)
    for month in (7, 8, 9):
        for i in range(10):
            _log(counselor, client.pk, dt.datetime(2026, month, 10, 10, i, tzinfo=SEOUL))
        for i in range(60):
            _log(manager, client.pk, dt.datetime(2026, month, 10, 11, i, tzinfo=SEOUL))
    for i in range(60):
        _log(counselor, client.pk, dt.datetime(2026, 10, 13, 10, i, tzinfo=SEOUL))
        _log(manager, client.pk, dt.datetime(2026, 10, 13, 11, i, tzinfo=SEOUL))
    review = review_compute(month=MONTH)
    (flag,) = _flags(review, counselor)[FlagKind.MANY_READS]
    assert flag.rows == 60 and "60" in flag.detail and "10" in flag.detail
    assert FlagKind.MANY_READS not in _flags(review, manager)


def test_notes_survive_a_recompute_and_a_signed_off_month_never_changes(counselor, officer):
    client = make_client(counselor)
    _log(counselor, client.pk, dt.datetime(2026, 10, 17, 11, 0, tzinfo=SEOUL))
    review = review_compute(month=MONTH)
    flag = review.flags.get()
    with pytest.raises(PermissionDenied):
        review_note(user=counselor, flag_id=flag.pk, note="x")
    review_note(user=officer, flag_id=flag.pk, note="주말 출장 상담, 팀장 확인")
    review = review_compute(month=MONTH)
    assert review.flags.get().note == "주말 출장 상담, 팀장 확인"
    with time_machine.travel(dt.datetime(2026, 11, 3, 9, 0, tzinfo=SEOUL)):
        signed = review_signoff(user=officer, month=MONTH, conclusion="이상 없음")
        assert signed.signed_off_by == officer
        with pytest.raises(InvalidTransition):
            review_note(user=officer, flag_id=review.flags.get().pk, note="바꿈")
        with pytest.raises(InvalidTransition):
            review_signoff(user=officer, month=MONTH, conclusion="다시")
        # New log rows of the month no longer change its flags.
        _log(counselor, client.pk, dt.datetime(2026, 10, 18, 11, 0, tzinfo=SEOUL))
        assert review_compute(month=MONTH).flags.get().rows == 1
    for statement in (
        "UPDATE privacy_accessreview SET conclusion = 'x'",
        "DELETE FROM privacy_accessflag",
        "UPDATE privacy_accessflag SET note = 'x'",
    ):
        with pytest.raises(DatabaseError, match="never edited"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)


def test_the_current_month_cannot_be_signed_off(officer):
    with time_machine.travel(dt.datetime(2026, 10, 20, 9, 0, tzinfo=SEOUL)):
        from core.errors import InvalidInput

        with pytest.raises(InvalidInput):
            review_signoff(user=officer, month=MONTH, conclusion="")


def test_an_unreviewed_previous_month_alerts_the_privacy_officers_once_from_the_10th(officer, counselor, settings):
    settings.ACCESS_REVIEW_DUE_DAY = 10
    with time_machine.travel(dt.datetime(2026, 11, 9, 9, 0, tzinfo=SEOUL)):
        assert review_alert_unreviewed() == 0
    with time_machine.travel(dt.datetime(2026, 11, 10, 9, 0, tzinfo=SEOUL)):
        assert review_alert_unreviewed() == 1
        assert review_alert_unreviewed() == 0
    (note,) = Notification.objects.filter(user=officer)
    assert "2026-10" in note.message and "서명" in note.message
    assert not Notification.objects.filter(user=counselor).exists()


def test_a_signed_off_month_raises_no_alert(officer, settings):
    settings.ACCESS_REVIEW_DUE_DAY = 10
    with time_machine.travel(dt.datetime(2026, 11, 3, 9, 0, tzinfo=SEOUL)):
        review_signoff(user=officer, month=MONTH, conclusion="")
    with time_machine.travel(dt.datetime(2026, 11, 12, 9, 0, tzinfo=SEOUL)):
        assert review_alert_unreviewed() == 0
    assert not Notification.objects.exists()
