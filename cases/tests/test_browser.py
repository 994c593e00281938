import pytest
from playwright.sync_api import expect

from cases.models import Case, Client, PiiAccessLog
from cases.tests.factories import make_client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_counselor_completes_a_walk_in_intake_and_sees_suggestions(login_page, counselor):
    page = login_page(counselor)
    page.goto("/cases/intake/")
    assert page.locator("h1").inner_text() == "방문 접수"
    page.fill("input[name=q]", "홍길동")
    page.wait_for_function("() => window.htmx !== undefined && document.readyState === 'complete'")
    page.click("#client-search button[type=submit]")
    # The search swaps its own section (htmx), the rest of the form stays as typed.
    expect(page.locator("#client-search")).to_contain_text("찾는 내담자가 없습니다")
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")

    page.fill("#id_name", "홍길동")
    page.fill("#id_birth_date", "1985-07-20")
    page.fill("#id_phone", "01098765432")
    page.select_option("#id_income_band", "none")
    page.select_option("#id_employment_status", "unemployed")
    page.select_option("#id_debt_status", "arrears")
    page.fill("#id_arrears_days", "120")
    assert "동의를 거부할 권리" in page.locator("[data-testid=consent-notice]").inner_text()
    page.check("#id_collection_consent")
    page.check("input[name=referral_kinds][value=microfinance]")
    page.check("input[name=referral_kinds][value=local_government]")
    page.check("input[name=needs][value=job_search]")
    page.check("input[name=needs][value=debt_adjustment]")
    page.fill("#id_note", "실직 후 카드 연체 4개월")
    page.click("[data-testid=intake-submit]")

    page.wait_for_selector("[data-testid=suggestions]")
    case = Case.objects.get()
    assert page.url.endswith(f"/cases/{case.pk}/")
    debt = page.locator("[data-service=debt_adjustment]")
    assert "개인워크아웃" in debt.inner_text()
    assert page.locator("[data-service=job_placement]").count() == 1
    assert page.locator("[data-service=basic_livelihood]").count() == 1
    assert "010-9876-5432" in page.locator("[data-testid=case-client]").inner_text()
    assert Client.objects.get().phone == "010-9876-5432"
    assert PiiAccessLog.objects.filter(view="cases:case_detail").count() == 1


def test_intake_with_a_bad_phone_shows_the_error_in_korean(login_page, counselor):
    page = login_page(counselor)
    page.goto("/cases/intake/")
    page.fill("#id_name", "홍길동")
    page.fill("#id_birth_date", "1985-07-20")
    page.fill("#id_phone", "12-34")
    page.check("#id_collection_consent")
    page.click("[data-testid=intake-submit]")
    assert "010-1234-5678 같은 국내 전화번호" in page.locator("[data-field=phone]").inner_text()
    assert Client.objects.count() == 0


def test_counselor_finds_an_existing_client_and_opens_a_case(login_page, counselor):
    existing = make_client(counselor, name="김민준")
    page = login_page(counselor)
    page.goto("/cases/intake/")
    page.fill("input[name=q]", "김민전")  # a typo still finds 김민준
    page.click("#client-search button[type=submit]")
    expect(page.locator("[data-testid=search-results]")).to_contain_text("김민준")
    page.wait_for_function("() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')")
    page.click(f"a[href='?client={existing.pk}']")
    expect(page.locator("[data-testid=selected-client]")).to_contain_text("김민준")
    page.check("#id_collection_consent")
    page.check("input[name=needs][value=job_training]")
    page.click("[data-testid=intake-submit]")
    page.wait_for_selector("[data-testid=suggestions]")
    assert Case.objects.get().client == existing
    assert page.locator("[data-service=vocational_training]").count() == 1
