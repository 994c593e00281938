from __future__ import annotations

import pytest

from jobs.models import Employer
from jobs.tests.factories import OTHER_BIZNO, make_flagged_posting

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_reviewer_finds_a_flagged_posting_and_decides_it_false(login_page, admin_user_staff, ministry_user):
    posting = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    page = login_page(ministry_user)
    page.goto("/jobs/?risk=high&review=pending")
    page.click(f"tr[data-posting='{posting.pk}'] a")
    assert page.locator("[data-testid=posting-content] mark").count() >= 2
    assert "통장 사본" in page.locator("[data-testid=posting-content] mark").all_inner_texts()[1] or any(
        "통장" in t for t in page.locator("[data-testid=posting-content] mark").all_inner_texts()
    )
    page.select_option("#id_decision", "false_ad")
    page.fill("#id_reason", "채용 전 통장·신분증 사본 요구")
    page.click("form.review-form button[type=submit]")
    page.wait_for_selector("[data-testid=decision]")
    assert page.locator("[data-testid=decision]").inner_text() == "허위 광고"
    assert Employer.objects.get(business_number=OTHER_BIZNO).suspect
    page.goto("/jobs/suspects/")
    assert page.locator("text=수상한상사").count() == 1


def test_a_reviewer_sees_the_models_figures_and_decides_what_only_the_model_flagged(
    login_page, admin_user_staff, ministry_user, tmp_path
):
    from jobs import services
    from jobs.tests.test_classifier import MISSED_BY_RULES, ROWS, decide

    # Reviewers overturned a few labels, so the figures are not a perfect 1.00.
    decide(admin_user_staff, ministry_user, ROWS[::2], flip=frozenset(r["id"] for r in ROWS[::14]))
    model = services.train_classifier()
    assert model is not None
    posting = services.posting_create(by=admin_user_staff, data=MISSED_BY_RULES)
    assert posting.risk_level == "medium" and posting.model_probability is not None

    page = login_page(ministry_user)
    page.goto("/jobs/review/")
    metrics = page.locator("[data-testid=model-metrics]")
    assert metrics.locator("[data-testid=model-precision]").inner_text() == f"{model.cv_precision:.2f}"
    assert metrics.locator("[data-testid=model-recall]").inner_text() == f"{model.cv_recall:.2f}"
    assert f"검토자 결정 {model.n_decisions}건" in metrics.locator("[data-testid=model-decisions]").inner_text()
    row = page.locator(f"tr[data-posting='{posting.pk}']")
    assert "학습 모델 의심" in row.inner_text()
    page.screenshot(path=str(tmp_path / "review_queue.png"), full_page=True)

    row.locator("a").first.click()
    assert f"{posting.model_probability:.2f}" in page.locator("[data-testid=model-probability]").inner_text()
    page.screenshot(path=str(tmp_path / "posting_detail.png"), full_page=True)
    page.select_option("#id_decision", "false_ad")
    page.fill("#id_reason", "현금 수거·송금 심부름: 보이스피싱 전달책 모집")
    page.click("form.review-form button[type=submit]")
    page.wait_for_selector("[data-testid=decision]")
    page.goto("/jobs/review/")
    assert page.locator(f"tr[data-posting='{posting.pk}']").count() == 0
    assert "새 결정 1건" in page.locator("[data-testid=model-metrics]").inner_text()
