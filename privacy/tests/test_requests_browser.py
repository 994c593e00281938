"""A counselor records a suspension request from the client's page; a manager finds it in the queue and
refuses it with the Act's reason; the client can be referred again. In Korean, in Chromium."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from cases.models import Client, ProcessingStop
from privacy.requests_models import SubjectRequest
from referral.tests.factories import case_with_consent

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOT_DIR")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_a_suspension_is_recorded_on_the_client_page_and_a_manager_answers_it(login_page, counselor, manager):
    case = case_with_consent(counselor)
    page = login_page(counselor)
    page.goto(f"/cases/clients/{case.client_id}/")
    page.click("[data-testid=record-request]")
    expect(page.locator("h1")).to_contain_text("정보주체 요청 접수")
    page.select_option("select[name=kind]", "suspension")
    page.select_option("select[name=identity_check]", "id_card")
    page.fill("textarea[name=note]", "전화로 처리정지 요청 후 방문")
    _shot(page, "privacy-request-new")
    page.click("[data-testid=request-form] button[type=submit]")
    expect(page.locator("[data-testid=request-status]")).to_have_text("답변 대기")
    expect(page.locator(".messages")).to_contain_text("처리 기한은")
    assert Client.objects.get(pk=case.client_id).processing_stopped == ProcessingStop.SUSPENDED
    # The client's page says why nothing new can be done; the counselor cannot answer the request.
    page.goto(f"/cases/clients/{case.client_id}/")
    expect(page.locator("[data-testid=processing-stopped]")).to_contain_text("처리 정지")
    req = SubjectRequest.objects.get()
    page.goto(f"/privacy/requests/{req.pk}/")
    expect(page.locator("[data-testid=answer-form]")).to_have_count(0)

    page.context.clear_cookies()
    page = login_page(manager)
    page.goto("/privacy/requests/")
    row = page.locator("[data-testid=request-queue] tbody tr").first
    expect(row).to_contain_text("처리정지")
    _shot(page, "privacy-request-queue")
    row.locator("a").first.click()
    page.check("input[name=decision][value=refused]")
    page.select_option("select[name=reason]", "public_duty")
    page.fill("textarea[name=answer]", "법령상 사후관리 업무 수행에 필요하여 거절합니다.")
    page.click("[data-testid=answer-form] button[type=submit]")
    expect(page.locator("[data-testid=request-decision]")).to_contain_text("거절")
    expect(page.locator("[data-testid=request-decision]")).to_contain_text("제37조제2항제3호")
    _shot(page, "privacy-request-answered")
    assert Client.objects.get(pk=case.client_id).processing_stopped == ProcessingStop.NONE
