"""In a real browser, the strict CSP blocks nothing the pages need (Swagger UI included)."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _collect_csp_violations(page) -> list[str]:
    messages: list[str] = []
    page.on(
        "console",
        lambda msg: messages.append(msg.text) if "Content Security Policy" in msg.text or "CSP" in msg.text else None,
    )
    return messages


def test_swagger_ui_renders_every_operation_without_csp_violations(page, counselor):
    violations = _collect_csp_violations(page)
    page.goto("/api/docs/")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/auth/token/" in paths
    assert "/api/v1/centers/" in paths
    assert violations == []


def test_login_directory_and_account_pages_run_without_csp_violations(login_page, manager):
    page = login_page(manager)
    violations = _collect_csp_violations(page)
    for url in ["/directory/", "/accounts/password/", "/accounts/otp/"]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    # Enrolment starts with a POST (a GET makes no device); then the page shows the QR code.
    page.locator('button[name="action"][value="start"]').click()
    page.wait_for_load_state("networkidle")
    assert page.locator("img.qr").evaluate("img => img.naturalWidth") > 0  # the data: QR image is allowed
    assert violations == []
