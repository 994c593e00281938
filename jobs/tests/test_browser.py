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
