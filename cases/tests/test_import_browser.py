"""A partner's list from upload to the receiving center's queue, in Chromium."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from cases.models import ImportBatch
from referral.models import Referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _csv() -> bytes:
    day = (timezone.localdate() - dt.timedelta(days=2)).isoformat()
    lines = ["이름,생년월일,전화번호,욕구,연계서비스,동의일,동의방법,제공동의기관,메모"]
    lines.append(f"최명단,1968-02-03,010-4545-1212,debt_adjustment,debt_adjustment,{day},서면,microfinance,구청 발굴")
    lines.append(f"정명단,1971-07-08,010-4545-3434,credit_counseling,credit_counseling,{day},서면,microfinance,")
    return ("\n".join(lines) + "\n").encode("cp949")


def test_a_partner_uploads_a_list_a_manager_approves_and_the_referrals_reach_a_queue(login_page, directory, make_staff):
    partner = make_staff("counselor", "LG-SEOUL-GWANAK", username="lg_browser_counselor")
    manager = make_staff("center_manager", "LG-SEOUL-GWANAK", username="lg_browser_manager")

    page = login_page(partner)
    page.goto("/cases/imports/")
    page.set_input_files(
        "[data-testid=import-upload] input[type=file]",
        files=[{"name": "관악구청_명단.csv", "mimeType": "text/csv", "buffer": _csv()}],
    )
    page.click("[data-testid=import-upload] button[type=submit]")
    expect(page.locator("[data-testid=import-status-label]")).to_have_text("승인 대기")
    totals = page.locator("[data-testid=import-totals] tbody td")
    expect(totals).to_have_text(["2", "2", "0", "0", "2"])
    # The uploader cannot approve their own list.
    expect(page.locator("[data-testid=import-approve]")).to_have_count(0)
    batch = ImportBatch.objects.get()

    page.context.clear_cookies()
    page = login_page(manager)
    page.goto(f"/cases/imports/{batch.pk}/")
    page.click("[data-testid=import-approve]")
    # Tasks run in-process here (no broker): the page comes back with the batch applied.
    expect(page.locator("[data-testid=import-status-label]")).to_have_text("반영 완료")
    expect(page.locator("[data-testid=import-report]")).to_be_visible()

    referrals = list(Referral.objects.select_related("to_center"))
    assert len(referrals) == 2 and all(r.to_center is not None for r in referrals)
    receiving = referrals[0].to_center
    page.context.clear_cookies()
    page = login_page(make_staff("counselor", receiving, username="receiving_counselor"))
    page.goto("/referrals/")
    for r in referrals:
        if r.to_center == receiving:
            expect(page.locator(f"tr[data-referral='{r.pk}']")).to_contain_text("접수 대기")
