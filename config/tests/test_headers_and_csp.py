"""Security headers and a strict Content-Security-Policy that the rendered pages actually respect."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

pytestmark = pytest.mark.django_db


class InlineCodeFinder(HTMLParser):
    """Collects what a strict CSP would block: inline <script>, style="", on*="" handlers, <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and not names.get("src"):
            self._in_inline_script = True
            self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        for name in names:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
        for name in ("href", "src", "action"):
            if (names.get(name) or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL on <{tag}>")


def inline_code_in(html: str) -> list[str]:
    finder = InlineCodeFinder()
    finder.feed(html)
    return finder.problems


def assert_strict_csp(response) -> None:
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


ANONYMOUS_PAGES = ["/accounts/login/", "/admin/login/", "/api/docs/"]
STAFF_PAGES = ["/directory/", "/directory/?kind=microfinance&region=11", "/accounts/password/"]
MANAGER_PAGES = ["/accounts/otp/", "/accounts/password/", "/directory/"]


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_public_pages_send_a_strict_csp_and_contain_no_inline_code(client, url):
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_csp(response)
    assert inline_code_in(response.content.decode()) == []


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_counselor_pages_send_a_strict_csp_and_contain_no_inline_code(client, counselor, url):
    client.force_login(counselor)
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_csp(response)
    assert inline_code_in(response.content.decode()) == []


@pytest.mark.parametrize("url", MANAGER_PAGES)
def test_manager_account_pages_contain_no_inline_code(client, manager, url):
    client.force_login(manager)
    response = client.get(url)
    assert response.status_code == 200
    assert_strict_csp(response)
    assert inline_code_in(response.content.decode()) == []


def test_otp_verify_and_lockout_pages_contain_no_inline_code(client, manager):
    TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    client.force_login(manager)
    response = client.get("/accounts/otp/verify/")
    assert response.status_code == 200
    assert inline_code_in(response.content.decode()) == []
    other = type(client)()
    for _ in range(5):
        response = other.post("/accounts/login/", {"username": manager.username, "password": "wrong"})
    assert response.status_code == 429
    assert_strict_csp(response)
    assert inline_code_in(response.content.decode()) == []


def test_admin_pages_send_a_strict_csp_and_contain_no_inline_script(client, admin_user_staff):
    client.force_login(admin_user_staff)
    for url in ["/admin/", "/admin/centers/center/"]:
        response = client.get(url)
        assert response.status_code == 200
        assert_strict_csp(response)
        assert [p for p in inline_code_in(response.content.decode()) if "script" in p] == []


def test_the_checker_would_catch_inline_code():
    html = '<div style="color:red" onclick="x()"><script>alert(1)</script><script src="/s.js"></script></div>'
    assert inline_code_in(html) == ["style attribute on <div>", "onclick handler on <div>", "inline <script>"]


def test_api_responses_carry_the_security_headers_too(client, counselor):
    client.force_login(counselor)
    response = client.get("/api/v1/services/")
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_session_and_csrf_cookies_are_httponly_and_samesite(client, counselor):
    from conftest import PASSWORD

    response = client.post("/accounts/login/", {"username": counselor.username, "password": PASSWORD})
    session_cookie = response.cookies["sessionid"]
    assert session_cookie["httponly"]
    assert session_cookie["samesite"] == "Lax"
    assert session_cookie["max-age"] == ""  # expires with the browser; the server enforces idle expiry
