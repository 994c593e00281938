"""A desk's bookable slots: its weekly schedule, less Korean public holidays, its closures and the past."""

import datetime as dt

import pytest
import time_machine

from centers.models import Desk, DeskClosure
from centers.slots import desk_slots, slot_starting
from core.workdays import SEOUL

pytestmark = pytest.mark.django_db

# Monday 21 December 2026, before opening; Friday the 25th is Christmas (기독탄신일).
MONDAY = dt.datetime(2026, 12, 21, 8, 0, tzinfo=SEOUL)
WEEK = (dt.date(2026, 12, 21), dt.date(2026, 12, 27))


def _desk(code: str) -> Desk:
    return Desk.objects.get(code=code)


def _days(slots) -> dict[dt.date, int]:
    out: dict[dt.date, int] = {}
    for s in slots:
        out[s.start.date()] = out.get(s.start.date(), 0) + 1
    return out


def test_a_weekday_desk_offers_its_hours_in_slots_and_none_on_a_public_holiday(directory):
    desk = _desk("EW-SEOUL-GWANAK-EMP")  # Monday to Friday 09:00-18:00, 30 minutes, 3 clients a slot
    slots = desk_slots(desk, first=WEEK[0], last=WEEK[1], now=MONDAY)
    # Christmas Friday and the weekend have none; each other day 18 half-hour slots.
    assert _days(slots) == {dt.date(2026, 12, d): 18 for d in (21, 22, 23, 24)}
    first, last = slots[0], slots[17]
    assert (first.start, first.end) == (
        dt.datetime(2026, 12, 21, 9, 0, tzinfo=SEOUL),
        dt.datetime(2026, 12, 21, 9, 30, tzinfo=SEOUL),
    )
    assert last.end == dt.datetime(2026, 12, 21, 18, 0, tzinfo=SEOUL)
    assert {s.capacity for s in slots} == {3}


def test_the_chuseok_and_substitute_holidays_close_the_desk(directory):
    desk = _desk("EW-SEOUL-GWANAK-EMP")
    slots = desk_slots(
        desk, first=dt.date(2026, 9, 21), last=dt.date(2026, 10, 9), now=dt.datetime(2026, 9, 1, tzinfo=SEOUL)
    )
    days = set(_days(slots))
    # 추석 전날·추석 (24, 25 Sep), 개천절 대체 휴일 (5 Oct), 한글날 (9 Oct).
    for holiday in (dt.date(2026, 9, 24), dt.date(2026, 9, 25), dt.date(2026, 10, 5), dt.date(2026, 10, 9)):
        assert holiday not in days
    assert dt.date(2026, 9, 23) in days and dt.date(2026, 10, 6) in days


def test_an_outreach_desk_opens_only_on_its_days(directory):
    desk = _desk("EW-SEOUL-GWANAK-FIN-OUT")  # Tuesday and Thursday 10:00-17:00, one-hour slots, one client
    slots = desk_slots(desk, first=WEEK[0], last=WEEK[1], now=MONDAY)
    assert _days(slots) == {dt.date(2026, 12, 22): 7, dt.date(2026, 12, 24): 7}
    assert [s.start.strftime("%H:%M") for s in slots[:7]] == [f"{h}:00" for h in range(10, 17)]
    assert {s.capacity for s in slots} == {1}


def test_a_closure_day_has_no_slots(directory):
    desk = _desk("EW-SEOUL-GWANAK-FIN-OUT")
    DeskClosure.objects.create(desk=desk, date=dt.date(2026, 12, 22), reason="직원 교육")
    slots = desk_slots(desk, first=WEEK[0], last=WEEK[1], now=MONDAY)
    assert _days(slots) == {dt.date(2026, 12, 24): 7}


def test_slots_already_begun_are_not_offered(directory):
    desk = _desk("EW-SEOUL-GWANAK-FIN-OUT")
    tuesday_late_morning = dt.datetime(2026, 12, 22, 11, 30, tzinfo=SEOUL)
    slots = desk_slots(desk, first=WEEK[0], last=WEEK[1], now=tuesday_late_morning)
    assert _days(slots) == {dt.date(2026, 12, 22): 5, dt.date(2026, 12, 24): 7}
    assert slots[0].start == dt.datetime(2026, 12, 22, 12, 0, tzinfo=SEOUL)
    assert slot_starting(desk, dt.datetime(2026, 12, 22, 11, 0, tzinfo=SEOUL), now=tuesday_late_morning) is None


def test_slot_times_are_seoul_times_whatever_the_offset_asked_in(directory):
    desk = _desk("EW-SEOUL-GWANAK-FIN-OUT")
    slot = slot_starting(desk, dt.datetime(2026, 12, 22, 1, 0, tzinfo=dt.UTC), now=MONDAY)  # 10:00 in Seoul
    assert slot is not None and slot.start.isoformat() == "2026-12-22T10:00:00+09:00"
    assert slot_starting(desk, dt.datetime(2026, 12, 22, 10, 0, tzinfo=dt.UTC), now=MONDAY) is None  # 19:00 KST
    assert slot_starting(desk, dt.datetime(2026, 12, 22, 10, 30, tzinfo=SEOUL), now=MONDAY) is None  # between slots
    assert slot_starting(desk, dt.datetime(2026, 12, 23, 10, 0, tzinfo=SEOUL), now=MONDAY) is None  # Wednesday


def test_slot_length_and_places_come_from_the_desk(directory):
    desk = _desk("EW-SEOUL-GWANAK-WEL")
    desk.slot_minutes, desk.slot_places = 45, 4
    desk.save()
    with time_machine.travel(MONDAY, tick=False):
        slots = desk_slots(desk, first=WEEK[0], last=WEEK[0])
    # 09:00 to 18:00 in 45 minutes: 12 slots, the last 17:15-18:00.
    assert len(slots) == 12 and slots[-1].end.strftime("%H:%M") == "18:00"
    assert {s.capacity for s in slots} == {4}
