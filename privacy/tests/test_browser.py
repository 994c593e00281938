"""The privacy officer walks through a month's access review and a destruction approval, in Korean."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from cases import access_log
from cases import services as case_services
from cases.models import DESTROYED_NAME, Client, Consent, PiiAccessLog
from cases.tests.factories import make_case
from centers.services import staff_create_or_update
from privacy.destruction import destruction_propose
from privacy.retention_models import BatchStatus, DestructionBatch, DestructionRecord
from privacy.retention_tasks import compute_access_review
from stats.definitions import SEOUL

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SHOTS = os.environ.get("SCREENSHOT_DIR")


def _shot(page, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_the_privacy_officer_reviews_a_month_and_approves_a_destruction(login_page, counselor, officer, settings):
    settings.AXES_ENABLED = False
    case = make_case(counselor, note="파기될메모")
    case_services.consent_record(user=counselor, client=case.client, purpose="collection", method="paper")
    # Last month: a weekend read and a download by the counselor.
    now = dt.datetime.now(SEOUL)
    first = now.replace(day=1, hour=12, minute=0, second=0, microsecond=0)
    last_month = (first - dt.timedelta(days=1)).replace(day=1)
    saturday = last_month + dt.timedelta(days=(5 - last_month.weekday()) % 7)
    for at, action in ((saturday.replace(hour=22), "read"), (saturday + dt.timedelta(days=2, hours=-1), "download")):
        access_log.append(
            [access_log.Entry(user_id=counselor.pk, client_id=case.client_id, action=action, view="cases:client_detail", ip_address=None, reason="")],
            at=at,
        )  # fmt: skip
    compute_access_review()
    case_services.consent_withdraw(
        user=counselor, consent=Consent.objects.get(client=case.client, purpose="collection")
    )
    batch = destruction_propose()
    assert batch is not None

    page = login_page(officer)
    page.goto("/privacy/retention/review/")
    assert "접속기록 점검" in page.locator("h1").inner_text()
    assert "업무시간 외 조회" in page.content() and "개인정보 다운로드" in page.content()
    page.locator("[data-testid=flags-download] input[name=note]").first.fill("월말 보고용 명단, 팀장 확인")
    page.locator("[data-testid=flags-download] button").first.click()
    page.wait_for_load_state("networkidle")
    assert "의견을 저장했습니다." in page.content()
    _shot(page, "review")
    page.fill("textarea[name=conclusion]", "이상 없음. 다운로드 1건 사유 확인.")
    page.click("[data-testid=signoff]")
    page.wait_for_load_state("networkidle")
    assert page.locator("[data-testid=review-signed]").is_visible()
    assert page.locator("[data-testid=signoff]").count() == 0
    _shot(page, "review_signed")

    page.goto("/privacy/retention/destructions/")
    assert page.locator("h1").inner_text() == "보존과 파기"
    _shot(page, "destructions_before")
    page.click(f"a[href='/privacy/retention/destructions/{batch.pk}/']")
    assert "승인 대기" in page.locator("[data-testid=batch-status-label]").inner_text()
    assert "수집·이용 동의 철회" in page.locator("[data-testid=batch-items]").inner_text()
    _shot(page, "destruction_detail")
    page.click("[data-testid=batch-approve]")
    page.wait_for_load_state("networkidle")
    # Eager tasks in the test server: the destruction ran on commit of the approval.
    assert DestructionBatch.objects.get(pk=batch.pk).status == BatchStatus.DESTROYED
    assert Client.objects.get(pk=case.client_id).name == DESTROYED_NAME
    page.goto("/privacy/retention/destructions/")
    ledger = page.locator("[data-testid=destruction-ledger]").inner_text()
    assert "신원·연락처" in ledger and officer.username in ledger
    # No RRN and no need note were held: the ledger names what there was.
    assert set(DestructionRecord.objects.filter(batch=batch).values_list("record_type", flat=True)) == {
        "identity", "case_notes", "consents",
    }  # fmt: skip
    _shot(page, "destructions_after")
    staff_create_or_update(
        username="browser_new", password="correct-horse-battery-staple-42", role="counselor",
        center_code="EW-SEOUL-GWANAK", check_password_strength=False,
    )  # fmt: skip
    page.goto("/privacy/retention/permissions/")
    assert "browser_new" in page.locator("[data-testid=permission-history]").inner_text()
    _shot(page, "permission_history")

    # The access records: the officer filters one client's rows, verifies the chain, downloads them with a reason.
    page.goto("/privacy/retention/access-log/")
    assert page.locator("h1").inner_text() == "접속기록"
    page.fill("input[name=client]", str(case.client_id))
    page.select_option("select[name=action]", "download")
    page.click("[data-testid=access-log-filter] button")
    page.wait_for_load_state("networkidle")
    table = page.locator("[data-testid=access-log]").inner_text()
    assert "다운로드" in table and counselor.username in table and "조회" not in table.split("\n", 1)[1]
    page.click("[data-testid=verify]")
    page.wait_for_load_state("networkidle")
    assert "위변조 없음" in page.locator("[data-testid=chain-ok]").inner_text()
    _shot(page, "access_log")
    page.fill("[data-testid=export-form] input[name=reason]", "11월 정기 점검")
    with page.expect_download() as download:
        page.click("[data-testid=export-form] button")
    assert download.value.suggested_filename.startswith("yeongye-access-log-")
    assert PiiAccessLog.objects.filter(user=officer, action="download", reason="11월 정기 점검").exists()
