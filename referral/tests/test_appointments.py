"""Appointments: booking a slot of the receiving desk, rebooking, cancelling, and what follows from them."""

import datetime as dt
import io

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from centers.models import Desk
from core.workdays import SEOUL
from referral import services
from referral.models import Appointment, Referral, ReferralEvent
from referral.slip import korean_datetime
from referral.tests.helpers import send, walk_to

pytestmark = pytest.mark.django_db

# Monday 21 December 2026, 08:00 in Seoul (Christmas, Friday the 25th, is a public holiday).
MONDAY = dt.datetime(2026, 12, 21, 8, 0, tzinfo=SEOUL)
TEN = "2026-12-21T10:00:00+09:00"
ELEVEN = "2026-12-21T11:00:00+09:00"
DESK = "MF-SEOUL-GWANAK-FIN"  # Monday to Friday 09:00-18:00, 30-minute slots, 2 clients a slot


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture
def referral(counselor, django_capture_on_commit_callbacks):
    r = send(counselor, capture=django_capture_on_commit_callbacks)
    assert r.to_desk.code == DESK
    return r


def _slots(api, desk_id, first="2026-12-21", last="2026-12-21"):
    resp = api.get(f"/api/v1/desks/{desk_id}/slots/", {"from": first, "to": last})
    assert resp.status_code == 200, resp.content
    return {row["start"]: row for row in resp.json()}


def test_the_sender_books_a_slot_and_the_referral_carries_it(referral, counselor, api_for):
    api = api_for(counselor)
    resp = api.post(f"/api/v1/referrals/{referral.pk}/appointment/", {"start": TEN}, format="json")
    assert resp.status_code == 200, resp.content
    assert resp.json()["appointment"] == {"start": TEN, "end": "2026-12-21T10:30:00+09:00", "desk": DESK}
    assert api.get(f"/api/v1/referrals/{referral.pk}/").json()["appointment"]["start"] == TEN
    slot = _slots(api, referral.to_desk_id)[TEN]
    assert (slot["capacity"], slot["booked"], slot["available"]) == (2, 1, 1)
    event = ReferralEvent.objects.get(referral=referral, kind="book")
    assert event.by_id == counselor.pk and event.data["appointment"]["start"] == TEN


def test_the_slot_list_is_in_seoul_time_and_has_no_closed_day(referral, counselor, api_for):
    rows = api_for(counselor).get(
        f"/api/v1/desks/{referral.to_desk_id}/slots/", {"from": "2026-12-24", "to": "2026-12-27"}
    )
    starts = [r["start"] for r in rows.json()]
    assert starts[0] == "2026-12-24T09:00:00+09:00" and all(s.endswith("+09:00") for s in starts)
    assert {s[:10] for s in starts} == {"2026-12-24"}  # Christmas and the weekend are closed


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({}, "from"),
        ({"from": "2026-12-21"}, "to"),
        ({"from": "21/12/2026", "to": "2026-12-22"}, "from"),
        ({"from": "2026-12-22", "to": "2026-12-21"}, "to"),
        ({"from": "2026-12-21", "to": "2027-02-21"}, "to"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "to"),
    ],
)
def test_slot_list_refuses_bad_or_too_long_ranges_with_a_message(referral, counselor, api_for, query, field):
    resp = api_for(counselor).get(f"/api/v1/desks/{referral.to_desk_id}/slots/", query)
    assert resp.status_code == 400 and field in resp.json()
    assert resp.json()[field][0]


def test_rebooking_frees_the_first_slot_and_keeps_the_history(referral, counselor, mf_counselor, api_for):
    api_for(counselor).post(f"/api/v1/referrals/{referral.pk}/appointment/", {"start": TEN}, format="json")
    resp = api_for(mf_counselor).post(f"/api/v1/referrals/{referral.pk}/appointment/", {"start": ELEVEN}, format="json")
    assert resp.status_code == 200 and resp.json()["appointment"]["start"] == ELEVEN
    slots = _slots(api_for(counselor), referral.to_desk_id)
    assert slots[TEN]["booked"] == 0 and slots[ELEVEN]["booked"] == 1
    rows = list(Appointment.objects.filter(referral=referral).order_by("pk"))
    assert [(a.start.astimezone(SEOUL).isoformat(), a.end_reason, a.cancelled_at is None) for a in rows] == [
        (TEN, "rebooked", False),
        (ELEVEN, "", True),
    ]
    assert ReferralEvent.objects.get(referral=referral, kind="rebook").data["previous"]["start"] == TEN


def test_delete_frees_the_slot(referral, counselor, api_for):
    api = api_for(counselor)
    api.post(f"/api/v1/referrals/{referral.pk}/appointment/", {"start": TEN}, format="json")
    resp = api.delete(f"/api/v1/referrals/{referral.pk}/appointment/")
    assert resp.status_code == 200 and resp.json()["appointment"] is None
    assert _slots(api, referral.to_desk_id)[TEN]["booked"] == 0
    assert Appointment.objects.get(referral=referral).end_reason == "cancelled"
    assert ReferralEvent.objects.filter(referral=referral, kind="unbook").count() == 1
    # Nothing left to free: the same answer, nothing written.
    assert api.delete(f"/api/v1/referrals/{referral.pk}/appointment/").status_code == 200
    assert ReferralEvent.objects.filter(referral=referral, kind="unbook").count() == 1


def test_the_last_place_taken_answers_409_slot_unavailable(
    referral, counselor, api_for, django_capture_on_commit_callbacks
):
    second = send(counselor, capture=django_capture_on_commit_callbacks)
    third = send(counselor, capture=django_capture_on_commit_callbacks)
    assert referral.to_desk_id == second.to_desk_id == third.to_desk_id
    api = api_for(counselor)
    for r in (referral, second):
        assert api.post(f"/api/v1/referrals/{r.pk}/appointment/", {"start": TEN}, format="json").status_code == 200
    resp = api.post(f"/api/v1/referrals/{third.pk}/appointment/", {"start": TEN}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "slot_unavailable"
    assert resp.json()["detail"]
    assert not Appointment.objects.filter(referral=third).exists()
    assert _slots(api, referral.to_desk_id)[TEN]["available"] == 0


@pytest.mark.parametrize(
    "start",
    [
        "2026-12-21T10:15:00+09:00",  # between two slots
        "2026-12-21T18:00:00+09:00",  # closing time
        "2026-12-21T07:30:00+09:00",  # before opening, and past
        "2026-12-25T10:00:00+09:00",  # Christmas
        "2026-12-26T10:00:00+09:00",  # Saturday
        "2026-12-18T10:00:00+09:00",  # last week
    ],
)
def test_a_time_that_is_no_bookable_slot_answers_409(referral, counselor, api_for, start):
    resp = api_for(counselor).post(f"/api/v1/referrals/{referral.pk}/appointment/", {"start": start}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "slot_unavailable"


def test_a_time_in_another_offset_books_the_same_seoul_slot(referral, counselor, api_for):
    resp = api_for(counselor).post(
        f"/api/v1/referrals/{referral.pk}/appointment/", {"start": "2026-12-21T01:00:00Z"}, format="json"
    )
    assert resp.status_code == 200 and resp.json()["appointment"]["start"] == TEN


def test_another_center_gets_404_and_ministry_403_and_nothing_changes(referral, make_staff, ministry_user, api_for):
    stranger = make_staff(center="EW-BUSAN-SAHA", username="busan")
    url = f"/api/v1/referrals/{referral.pk}/appointment/"
    assert api_for(stranger).post(url, {"start": TEN}, format="json").status_code == 404
    assert api_for(stranger).delete(url).status_code == 404
    assert api_for(ministry_user).post(url, {"start": TEN}, format="json").status_code == 403
    assert api_for(None).post(url, {"start": TEN}, format="json").status_code == 401
    assert not Appointment.objects.exists()


def test_no_booking_before_a_desk_is_chosen_or_once_closed(
    counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    unrouted = send(counselor, route=False)
    resp = api_for(counselor).post(f"/api/v1/referrals/{unrouted.pk}/appointment/", {"start": TEN}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "invalid_transition"
    done = walk_to("completed", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    resp = api_for(counselor).post(f"/api/v1/referrals/{done.pk}/appointment/", {"start": TEN}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "invalid_transition"


def test_first_contact_due_follows_the_appointment(referral, counselor, mf_counselor):
    wednesday = dt.datetime(2026, 12, 23, 10, 0, tzinfo=SEOUL)
    services.appointment_book(by=counselor, referral_id=referral.pk, start=wednesday)
    services.referral_accept(referral_id=referral.pk, by=mf_counselor)
    r = Referral.objects.get(pk=referral.pk)
    # The meeting is the first contact: due at the desk's close on the appointment's day.
    assert r.contact_due_at == dt.datetime(2026, 12, 23, 18, 0, tzinfo=SEOUL) == r.next_due_at
    # Rebooked to a later day: the due moves with it, past the 5-business-day SLA if need be.
    later = dt.datetime(2027, 1, 5, 14, 0, tzinfo=SEOUL)
    services.appointment_book(by=mf_counselor, referral_id=referral.pk, start=later)
    assert Referral.objects.get(pk=referral.pk).contact_due_at == dt.datetime(2027, 1, 5, 18, 0, tzinfo=SEOUL)
    # Cancelled: back to the SLA from acceptance (5 business days, Christmas skipped: Tue 29 Dec).
    services.appointment_cancel(by=mf_counselor, referral_id=referral.pk)
    assert Referral.objects.get(pk=referral.pk).contact_due_at == dt.datetime(2026, 12, 29, 18, 0, tzinfo=SEOUL)


def test_declining_or_cancelling_the_referral_frees_its_slot(
    referral, counselor, mf_counselor, api_for, django_capture_on_commit_callbacks
):
    services.appointment_book(by=counselor, referral_id=referral.pk, start=dt.datetime.fromisoformat(TEN))
    desk_id = referral.to_desk_id
    with django_capture_on_commit_callbacks(execute=True):
        services.referral_decline(referral_id=referral.pk, by=mf_counselor, reason="no_capacity")
    a = Appointment.objects.get(referral=referral)
    assert a.end_reason == "left_desk" and a.cancelled_at is not None
    assert _slots(api_for(counselor), desk_id)[TEN]["booked"] == 0
    r = Referral.objects.get(pk=referral.pk)
    assert r.contact_due_at is None
    assert r.events.get(kind="decline").data["appointment_freed"]["start"] == TEN

    other = send(counselor, capture=django_capture_on_commit_callbacks)
    services.appointment_book(by=counselor, referral_id=other.pk, start=dt.datetime.fromisoformat(TEN))
    services.referral_cancel(referral_id=other.pk, by=counselor, reason="client_request")
    assert Appointment.objects.get(referral=other).end_reason == "closed"
    assert api_for(counselor).get(f"/api/v1/referrals/{other.pk}/").json()["appointment"] is None


def test_the_case_answer_lists_each_referral_with_its_appointment(referral, counselor, api_for):
    services.appointment_book(by=counselor, referral_id=referral.pk, start=dt.datetime.fromisoformat(TEN))
    rows = api_for(counselor).get(f"/api/v1/cases/{referral.case_id}/").json()["referrals"]
    assert rows == [
        {
            "id": referral.pk,
            "service": "debt_adjustment",
            "status": "requested",
            "to_center": "MF-SEOUL-GWANAK",
            "to_desk": DESK,
            "appointment": {"start": TEN, "end": "2026-12-21T10:30:00+09:00", "desk": DESK},
            "outcome": "",
        }
    ]


def _slip_text(client, referral) -> str:
    pdf = client.get(reverse("referral:slip", args=[referral.pk])).content
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)


def test_the_slip_shows_the_appointment_in_korean_or_says_to_call_first(referral, counselor, client):
    client.force_login(counselor)
    assert "예약 없음" in _slip_text(client, referral) and "전화 후 방문" in _slip_text(client, referral)
    services.appointment_book(
        by=counselor, referral_id=referral.pk, start=dt.datetime(2026, 12, 24, 14, 30, tzinfo=SEOUL)
    )
    text = _slip_text(client, referral)
    assert "2026년 12월 24일 (목) 오후 2:30" in text and "예약 없음" not in text


def test_korean_datetime_reads_as_a_korean_would_say_it():
    assert korean_datetime(dt.datetime(2026, 12, 3, 10, 0, tzinfo=SEOUL)) == "2026년 12월 3일 (목) 오전 10:00"
    assert korean_datetime(dt.datetime(2026, 12, 3, 12, 5, tzinfo=SEOUL)) == "2026년 12월 3일 (목) 오후 12:05"
    assert korean_datetime(dt.datetime(2026, 12, 3, 0, 30, tzinfo=dt.UTC)) == "2026년 12월 3일 (목) 오전 9:30"


def test_a_desk_with_one_place_per_slot(referral, counselor, api_for):
    Desk.objects.filter(pk=referral.to_desk_id).update(slot_places=1)
    api = api_for(counselor)
    api.post(f"/api/v1/referrals/{referral.pk}/appointment/", {"start": TEN}, format="json")
    slot = _slots(api, referral.to_desk_id)[TEN]
    assert (slot["capacity"], slot["booked"], slot["available"]) == (1, 1, 0)
