"""The appointment pages: the slot picker on the case and referral pages, booking on accept, the day view."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from cases.models import PiiAccessLog
from core.workdays import SEOUL
from referral import services
from referral.models import Appointment
from referral.tests.helpers import send

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 12, 21, 8, 0, tzinfo=SEOUL)
TEN = dt.datetime(2026, 12, 21, 10, 0, tzinfo=SEOUL)


@pytest.fixture(autouse=True)
def monday():
    with time_machine.travel(MONDAY, tick=False):
        yield


@pytest.fixture
def referral(counselor, django_capture_on_commit_callbacks):
    return send(counselor, capture=django_capture_on_commit_callbacks)


def test_the_case_page_books_a_slot_of_the_routed_desk(referral, counselor, client):
    client.force_login(counselor)
    case_url = reverse("cases:case_detail", args=[referral.case_id])
    page = client.get(case_url).content.decode()
    slots_url = reverse("referral:appointment_slots", args=[referral.pk])
    assert f'hx-get="{slots_url}' in page and ">예약<" in page
    picker = client.get(slots_url, {"next": case_url}, headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in picker  # a fragment for htmx
    assert "12월 21일 (월)" in picker and "오전 9:00" in picker and "12월 25일" not in picker
    resp = client.post(
        reverse("referral:appointment_book", args=[referral.pk]), {"start": TEN.isoformat(), "next": case_url}
    )
    assert resp.status_code == 302 and resp["Location"] == case_url
    page = client.get(case_url).content.decode()
    assert "2026년 12월 21일 (월) 오전 10:00" in page and ">변경<" in page


def test_the_referral_page_rebooks_and_cancels(referral, counselor, client):
    client.force_login(counselor)
    detail = reverse("referral:detail", args=[referral.pk])
    assert "예약 없음" in client.get(detail).content.decode()
    client.post(reverse("referral:appointment_book", args=[referral.pk]), {"start": TEN.isoformat()})
    eleven = TEN + dt.timedelta(hours=1)
    resp = client.post(
        reverse("referral:appointment_book", args=[referral.pk]), {"start": eleven.isoformat()}, follow=True
    )
    html = resp.content.decode()
    assert "오전 11:00" in html and "예약 변경" in html and "예약 취소" in html
    assert "예약 변경됨" in html  # the timeline's event
    resp = client.post(reverse("referral:appointment_cancel", args=[referral.pk]), follow=True)
    assert "예약을 취소했습니다" in resp.content.decode()
    assert not Appointment.objects.filter(referral=referral, cancelled_at__isnull=True).exists()


def test_a_full_slot_is_a_message_not_an_error_page(referral, counselor, client, django_capture_on_commit_callbacks):
    client.force_login(counselor)
    for _n in range(2):  # the desk takes two clients a slot
        other = send(counselor, capture=django_capture_on_commit_callbacks)
        services.appointment_book(by=counselor, referral_id=other.pk, start=TEN)
    resp = client.post(
        reverse("referral:appointment_book", args=[referral.pk]), {"start": TEN.isoformat()}, follow=True
    )
    assert resp.status_code == 200 and "다른 시간을 선택" in resp.content.decode()


def test_the_receiving_desk_books_the_first_meeting_when_it_accepts(referral, mf_counselor, client):
    client.force_login(mf_counselor)
    page = client.get(reverse("referral:detail", args=[referral.pk])).content.decode()
    assert 'name="appointment_start"' in page
    resp = client.post(
        reverse("referral:act", args=[referral.pk, "accept"]), {"appointment_start": TEN.isoformat()}, follow=True
    )
    assert "2026년 12월 21일 (월) 오전 10:00" in resp.content.decode()
    referral.refresh_from_db()
    assert referral.status == "accepted"
    assert referral.contact_due_at == dt.datetime(2026, 12, 21, 18, 0, tzinfo=SEOUL)


def test_the_day_view_lists_the_centers_appointments_with_names_and_logs_the_read(
    referral, counselor, mf_counselor, make_staff, client, django_capture_on_commit_callbacks
):
    services.appointment_book(by=counselor, referral_id=referral.pk, start=TEN)
    # Another center's appointment at its own desk never shows here.
    busan = make_staff(center="EW-BUSAN-SAHA", username="busan")
    elsewhere = send(busan, capture=django_capture_on_commit_callbacks)
    services.appointment_book(by=busan, referral_id=elsewhere.pk, start=TEN)
    client.force_login(mf_counselor)
    html = client.get(reverse("referral:appointments_day")).content.decode()
    assert referral.client.name in html and f'href="/referrals/{referral.pk}/"' in html and "오전 10:00" in html
    assert elsewhere.client.name not in html
    log = PiiAccessLog.objects.get(view="referral:appointments_day")
    assert (log.user_id, log.client_id) == (mf_counselor.pk, referral.client_id)
    # Another day: none.
    html = client.get(reverse("referral:appointments_day"), {"date": "2026-12-22"}).content.decode()
    assert referral.client.name not in html and "예약이 없습니다" in html
    # The sender's center has no desk receiving this referral: its day view shows nothing of it.
    client.force_login(counselor)
    assert referral.client.name not in client.get(reverse("referral:appointments_day")).content.decode()


def test_the_day_view_is_for_center_staff(ministry_user, client, directory):
    client.force_login(ministry_user)
    assert client.get(reverse("referral:appointments_day")).status_code == 403


def test_another_center_cannot_open_the_picker_or_book(referral, make_staff, client):
    client.force_login(make_staff(center="EW-BUSAN-SAHA", username="busan"))
    assert client.get(reverse("referral:appointment_slots", args=[referral.pk])).status_code == 404
    resp = client.post(reverse("referral:appointment_book", args=[referral.pk]), {"start": TEN.isoformat()})
    assert resp.status_code == 404 and not Appointment.objects.exists()


def test_the_queue_and_the_outgoing_list_show_the_booked_appointment(referral, counselor, mf_counselor, client):
    def row(user, name):
        client.force_login(user)
        html = client.get(reverse(name)).content.decode()
        start = html.index(f'data-referral="{referral.pk}"')
        return html[start : html.index("</tr>", start)]

    assert "data-appointment" not in row(mf_counselor, "referral:queue")
    services.appointment_book(by=counselor, referral_id=referral.pk, start=TEN)
    for user, name in ((mf_counselor, "referral:queue"), (counselor, "referral:outgoing")):
        cell = row(user, name)
        assert 'data-appointment="2026-12-21T10:00:00+09:00"' in cell and "12-21(월) 10:00" in cell, cell
    # A cancelled appointment leaves the lists.
    services.appointment_cancel(by=counselor, referral_id=referral.pk)
    assert "data-appointment" not in row(mf_counselor, "referral:queue")
