"""In a real browser: the counselor books the client's first meeting from the case page, the receiving desk
sees it on its day view."""

import datetime as dt
import os
from pathlib import Path

import pytest
import time_machine
from playwright.sync_api import expect

from core.workdays import SEOUL
from referral.models import Appointment
from referral.tests.helpers import send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Monday 21 December 2026, 08:00 in Seoul: the whole week's slots are ahead.
MONDAY = dt.datetime(2026, 12, 21, 8, 0, tzinfo=SEOUL)


def _shot(page, name: str) -> None:
    """SCREENSHOT_DIR=… keeps full-page screenshots of the steps (to look at them)."""
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_the_counselor_books_a_slot_from_the_case_page_and_the_desk_sees_it(login_page, counselor, mf_counselor):
    with time_machine.travel(MONDAY):
        referral = send(counselor)  # routed in-process once committed (no broker in tests)
        assert referral.to_desk is not None and referral.to_desk.code == "MF-SEOUL-GWANAK-FIN"

        page = login_page(counselor)
        page.goto(f"/cases/{referral.case_id}/")
        row = page.locator(f"[data-testid=case-referrals] tr[data-referral='{referral.pk}']")
        row.locator("[data-testid=book]").click()
        picker = page.locator(f"#slot-picker-{referral.pk} [data-testid=slot-picker]")
        expect(picker).to_contain_text("12월 21일 (월)")
        expect(picker).not_to_contain_text("12월 25일")  # Christmas
        _shot(page, "case_page_slot_picker")
        picker.locator("button[data-start='2026-12-21T10:00:00+09:00']").click()

        expect(page.locator(".msg.success")).to_contain_text("예약을 잡았습니다")
        expect(row.locator("[data-testid=appointment]")).to_contain_text("2026년 12월 21일 (월) 오전 10:00")
        _shot(page, "case_page_booked")
        appointment = Appointment.objects.get(referral=referral, cancelled_at__isnull=True)
        assert appointment.start == dt.datetime(2026, 12, 21, 10, 0, tzinfo=SEOUL)

        # The receiving desk's day: whom to expect at 10:00.
        page.context.clear_cookies()
        page = login_page(mf_counselor)
        page.click("nav.mainnav >> text=예약 현황")
        table = page.locator("[data-testid=appointments]")
        day_row = table.locator(f"tr[data-referral='{referral.pk}']")
        expect(day_row).to_contain_text("오전 10:00")
        expect(day_row).to_contain_text(referral.client.name)
        expect(day_row).to_contain_text("서민금융 상담창구")
        _shot(page, "day_view")

        # …and on the referral page it may move the meeting to another time.
        day_row.locator(f"a[href='/referrals/{referral.pk}/']").click()
        expect(page.locator("[data-testid=appointment]")).to_contain_text("오전 10:00")
        page.locator("[data-testid=appointment-card] [data-testid=book]").click()
        page.locator("[data-testid=slot-picker] button[data-start='2026-12-22T14:00:00+09:00']").click()
        expect(page.locator("[data-testid=appointment]")).to_contain_text("2026년 12월 22일 (화) 오후 2:00")
        _shot(page, "referral_page_rebooked")

        # Cancelled: the slot is free again, and the accept form offers to book the first meeting.
        page.click("button[data-action=unbook]")
        expect(page.locator("[data-testid=appointment]")).to_contain_text("예약 없음")
        page.select_option("select[name=appointment_start]", "2026-12-23T09:30:00+09:00")
        _shot(page, "referral_page_accept_with_slot")
        page.click("button[data-action=accept]")
        expect(page.locator("[data-testid=status]")).to_have_text("접수")
        expect(page.locator("[data-testid=appointment]")).to_contain_text("2026년 12월 23일 (수) 오전 9:30")
    assert Appointment.objects.filter(referral=referral).count() == 3
