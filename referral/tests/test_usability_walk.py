"""The two daily paths, walked in a real browser and measured (docs/usability.md): a new walk-in referred three
ways with a booked first meeting and a printed slip, and a returning client found by phone and referred.

Counted: page loads (top-level documents the counselor waits for, the slip's PDF tab included), partial
updates (htmx requests that swap a part of the page) and form fields touched (typed, ticked or chosen).
The figures are asserted so that docs/usability.md stays true: a change that adds a page or a field to a
daily path fails here and the document is updated with it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import time_machine
from playwright.sync_api import expect

from cases.models import Case, Client
from cases.tests.factories import make_client
from core.workdays import SEOUL
from referral.models import Appointment, Referral

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Monday 21 December 2026, 09:10 in Seoul: a working morning with the week's slots ahead.
MONDAY = dt.datetime(2026, 12, 21, 9, 10, tzinfo=SEOUL)


@dataclass
class Walk:
    page: Any
    loads: list[str] = field(default_factory=list)
    partials: list[str] = field(default_factory=list)
    fields: int = 0

    def watch(self) -> None:
        # A document loaded in the tab (not a history entry pushed by htmx, which Playwright also reports as
        # a navigation).
        self.page.on("load", lambda p: self.loads.append(p.url))
        self.page.on("request", lambda r: self.partials.append(r.url) if r.headers.get("hx-request") else None)
        self.page.context.on("page", lambda p: self.loads.append("(new tab)"))

    def fill(self, selector: str, value: str) -> None:
        self.page.fill(selector, value)
        self.fields += 1

    def check(self, selector: str) -> None:
        self.page.check(selector)
        self.fields += 1

    def select(self, selector: str, value: str) -> None:
        self.page.select_option(selector, value)
        self.fields += 1

    def figures(self) -> dict[str, int]:
        return {"page_loads": len(self.loads), "partial_updates": len(self.partials), "fields_touched": self.fields}


def _record(name: str, figures: dict[str, int]) -> None:
    """USABILITY_OUT=path.json keeps the figures of the run (docs/usability.md is written from them)."""
    out = os.environ.get("USABILITY_OUT")
    if out:
        path = Path(out)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[name] = figures
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False))


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("SCREENSHOT_DIR")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _htmx_ready(page: Any) -> None:
    """htmx (a deferred script) has taken over the page's forms: a click before that is a plain form post, a
    whole page load, which a counselor on a slow machine may well get but which these figures do not count."""
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")


def _settled(page: Any) -> None:
    """No htmx request, swap or settle still under way, so the next click lands on the page as it will stay."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling, .htmx-added')"
    )


def _book_first_slot_and_print(walk: Walk, referral: Referral, name: str) -> None:
    page = walk.page
    row = page.locator(f"[data-testid=case-referrals] tr[data-referral='{referral.pk}']")
    row.locator("[data-testid=book]").click()
    picker = page.locator(f"#slot-picker-{referral.pk} [data-testid=slot-picker]")
    picker.locator("button[data-start]").first.click()
    expect(page.locator(".msg.success")).to_contain_text("예약을 잡았습니다")
    expect(row.locator("[data-testid=appointment]")).to_contain_text("2026년 12월 21일 (월)")
    _shot(page, name)
    with page.context.expect_page() as slip_tab:
        page.locator(f"tr[data-referral='{referral.pk}'] [data-testid=print-slip]").click()
    slip_tab.value.wait_for_load_state()


def test_a_new_walk_in_is_referred_three_ways_with_a_booked_meeting_and_a_slip(login_page, counselor):
    with time_machine.travel(MONDAY):
        walk = Walk(login_page(counselor))
        walk.watch()
        page = walk.page
        page.goto("/cases/intake/")
        walk.fill("#id_name", "신규방문")
        walk.fill("#id_birth_date", "1979-04-12")
        walk.fill("#id_phone", "01055501234")
        walk.select("#id_employment_status", "unemployed")
        walk.select("#id_debt_status", "arrears")
        walk.fill("#id_arrears_days", "120")
        walk.check("#id_collection_consent")
        walk.check("input[name=referral_kinds][value=employment_welfare]")
        walk.check("input[name=referral_kinds][value=microfinance]")
        walk.check("input[name=needs][value=job_search]")
        walk.check("input[name=needs][value=policy_loan]")
        page.click("[data-testid=intake-submit]")
        page.wait_for_selector("[data-testid=suggestions]")
        _htmx_ready(page)
        # Out of work, 120 days in arrears, asking for a loan: employment, debt adjustment, a policy microloan.
        expect(page.locator("[data-testid=send-all]")).to_contain_text("3")
        page.click("[data-testid=send-all]")
        page.wait_for_selector("[data-testid=case-referrals] tr[data-referral]")
        case = Case.objects.get(client__name="신규방문")
        referrals = list(Referral.objects.filter(case=case).order_by("pk"))
        assert len(referrals) == 3
        _book_first_slot_and_print(walk, referrals[0], "walk_new_client_booked")
    assert Appointment.objects.filter(referral=referrals[0], cancelled_at__isnull=True).count() == 1
    figures = walk.figures()
    _record("new_walk_in", figures)
    # Intake, case page, the slip: three loads; sending the three, opening the slot picker and booking are
    # partial updates of the case page.
    assert figures == {"page_loads": 3, "partial_updates": 3, "fields_touched": 11}, figures


def test_a_returning_client_is_found_by_phone_and_referred_with_a_meeting_and_a_slip(login_page, counselor):
    with time_machine.travel(MONDAY):
        returning = make_client(counselor, name="재방문자", phone="010-5550-7788")
        walk = Walk(login_page(counselor))
        walk.watch()
        page = walk.page
        page.goto("/cases/intake/")
        _htmx_ready(page)
        walk.fill("input[name=q]", "01055507788")
        page.click("#client-search button[type=submit]")
        # The search swaps its own section (a partial update); the choice then loads the filled-in form.
        expect(page.locator("[data-testid=search-results]")).to_contain_text("재방문자")
        _settled(page)
        _shot(page, "walk_returning_search")
        page.click(f"a[href='?client={returning.pk}']")
        expect(page.locator("[data-testid=selected-client]")).to_contain_text("재방문자")
        walk.check("#id_collection_consent")
        walk.check("input[name=referral_kinds][value=microfinance]")
        walk.check("input[name=needs][value=debt_adjustment]")
        page.click("[data-testid=intake-submit]")
        page.wait_for_selector("[data-testid=suggestions]")
        _htmx_ready(page)
        page.locator("[data-service=debt_adjustment] button[name=only]").click()
        page.wait_for_selector("[data-testid=case-referrals] tr[data-referral]")
        referral = Referral.objects.get(case__client=returning)
        _book_first_slot_and_print(walk, referral, "walk_returning_client_booked")
    assert Client.objects.filter(name="재방문자").count() == 1
    assert Appointment.objects.filter(referral=referral, cancelled_at__isnull=True).count() == 1
    figures = walk.figures()
    _record("returning_client", figures)
    # Intake, the client chosen, case page, the slip: four loads; the search, sending, the slot picker and
    # booking are partial updates.
    assert figures == {"page_loads": 4, "partial_updates": 4, "fields_touched": 4}, figures
