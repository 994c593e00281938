import re

import pytest
from playwright.sync_api import expect

from cases.models import Client
from conftest import PASSWORD
from referral.models import Referral
from referral.tests.factories import case_with_consent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_referral_walks_from_the_sending_case_to_completion_across_two_centers(login_page, counselor, mf_counselor):
    case = case_with_consent(counselor)
    Client.objects.filter(pk=case.client_id).update(debt_status="arrears", arrears_days=95)

    # 1. On the case page the counselor refers the suggested debt adjustment, which their building lacks.
    page = login_page(counselor)
    page.goto(f"/cases/{case.pk}/")
    row = page.locator("[data-testid=suggestions] tr[data-service=debt_adjustment]")
    row.locator("input[name=note]").fill("연체 90일, 채무조정 상담 희망")
    row.locator("button[type=submit]").click()
    expect(page.locator(".msg.success")).to_contain_text("보냈습니다")
    assert f"/cases/{case.pk}/" in page.url
    page.goto("/referrals/sent/")
    referral = Referral.objects.get()
    page.reload()
    row = page.locator(f"tr[data-referral='{referral.pk}']")
    expect(row).to_contain_text("접수 대기")
    expect(row).to_contain_text("관악서민금융통합지원센터")

    # 2. The microfinance center's counselor accepts it from the queue, starts and completes it.
    page.context.clear_cookies()
    page = login_page(mf_counselor)
    page.goto("/referrals/")
    expect(page.locator("[data-testid=unread-count]")).to_have_text("1")
    row = page.locator(f"tr[data-referral='{referral.pk}']")
    row.locator("button[value=accept]").click()
    # The swapped row says so ("접수 대기" also contains "접수": wait for the accepted row itself, or the
    # link below may be followed while the accept is still in flight).
    expect(page.locator(f"tr[data-referral='{referral.pk}']")).to_have_attribute("data-status", "accepted")
    page.click(f"a[href='/referrals/{referral.pk}/']")
    expect(page.locator("[data-testid=why-this-desk]")).to_contain_text("관악서민금융통합지원센터")
    expect(page.locator("[data-testid=referral-note]")).to_have_text("연체 90일, 채무조정 상담 희망")
    page.click("button[data-action=start]")
    expect(page.locator("[data-testid=status]")).to_have_text("진행 중")
    page.select_option("form.complete select[name=outcome]", "workout_agreed")
    page.fill("form.complete input[name=detail_loan_amount]", "5000000")
    page.click("button[data-action=complete]")
    expect(page.locator("[data-testid=status]")).to_have_text("완료")
    expect(page.locator("[data-testid=outcome]")).to_contain_text("5000000")
    expect(page.locator("[data-testid=timeline] li")).to_have_count(5)

    # 3. The sender sees it completed and was told.
    page.context.clear_cookies()
    page = login_page(counselor)
    page.goto("/referrals/sent/")
    expect(page.locator(f"tr[data-referral='{referral.pk}']")).to_contain_text("완료")
    page.click("a.notif")
    expect(page.locator("ul.notifications")).to_contain_text(re.compile("완료되었습니다"))


def test_accepting_from_the_queue_swaps_its_row_in_place_and_the_table_stays_live(
    login_page, counselor, mf_counselor, make_staff, django_capture_on_commit_callbacks
):
    from referral import services
    from referral.tests.helpers import walk_to

    a = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    b = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    page = login_page(mf_counselor)
    csp_errors: list[str] = []
    page.on("console", lambda m: csp_errors.append(m.text) if "Content Security Policy" in m.text else None)
    loads: list[str] = []
    page.on("load", lambda: loads.append(page.url))
    page.goto("/referrals/")
    expect(page.locator(f"tr[data-referral='{a.pk}']")).to_contain_text("접수 대기")
    page.evaluate("window.__sameDocument = true")
    loads.clear()

    page.locator(f"tr[data-referral='{a.pk}'] button[value=accept]").click()
    row = page.locator(f"tr[data-referral='{a.pk}']")
    expect(row).to_have_attribute("data-status", "accepted")
    expect(row).to_contain_text("접수 처리되었습니다")
    expect(row.locator("button[value=assign]")).to_be_visible()
    assert page.evaluate("window.__sameDocument === true") and loads == []  # no page load, only the row
    assert Referral.objects.get(pk=a.pk).status == "accepted"

    # Someone else accepts the other referral: the polled table shows it without a reload.
    services.referral_accept(referral_id=b.pk, by=make_staff("center_manager", "MF-SEOUL-GWANAK"))
    expect(page.locator(f"tr[data-referral='{b.pk}']")).to_have_attribute("data-status", "accepted", timeout=12_000)
    assert page.evaluate("window.__sameDocument === true") and loads == []
    assert csp_errors == []


def test_a_queue_left_open_logs_out_after_the_idle_time_though_it_keeps_polling(
    login_page, counselor, mf_counselor, settings, django_capture_on_commit_callbacks
):
    """The queue re-reads itself every 5 s; those polls are not activity (core.sessions). With an idle time
    of 8 s the poll at 5 s still shows the table and the one at 10 s takes the whole page to the login form,
    which brings the counselor back to the queue."""
    from referral.tests.helpers import walk_to

    referral = walk_to("requested", sender=counselor, receiver=mf_counselor, capture=django_capture_on_commit_callbacks)
    page = login_page(mf_counselor)
    settings.SESSION_COOKIE_AGE = 8
    page.goto("/referrals/")  # the last real request: the session ends 8 s from now
    expect(page.locator(f"tr[data-referral='{referral.pk}']")).to_be_visible()
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if r.headers.get("x-yeongye-poll") == "1" else None)
    page.wait_for_url(re.compile(r"/accounts/login/\?next=%2Freferrals%2F$"), timeout=20_000)
    assert len(polls) >= 2  # it did poll, twice at least, and those polls did not hold the session open
    assert page.locator("#queue-table").count() == 0  # the login form is the page, not pasted into the table
    settings.SESSION_COOKIE_AGE = 30 * 60
    page.fill("#id_username", mf_counselor.get_username())
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(re.compile(r"/referrals/$"))
    expect(page.locator(f"tr[data-referral='{referral.pk}']")).to_be_visible()
