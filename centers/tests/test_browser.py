import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_counselor_logs_in_and_sees_directory_in_korean(login_page, counselor):
    page = login_page(counselor)
    page.goto("/directory/")
    assert page.locator("h1").inner_text() == "센터·창구 디렉터리"
    # Every employment-welfare center lists its outreach finance desk.
    gwanak = page.locator("[data-center=EW-SEOUL-GWANAK]")
    assert "출장 서민금융 상담창구" in gwanak.inner_text()
    page.select_option("select[name=kind]", "microfinance")
    page.click("form.filters button[type=submit]")
    # The click starts the navigation; the new page may still be parsing when it returns.
    page.wait_for_url("**/directory/?kind=microfinance*")
    expect(page.locator("section.center")).to_have_count(13)


def test_wrong_password_shows_error_and_stays_logged_out(page, counselor):
    page.goto("/accounts/login/")
    page.fill("#id_username", counselor.get_username())
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit].primary")
    assert page.locator("[role=alert]").is_visible()
    page.goto("/directory/")
    assert "/accounts/login/" in page.url
