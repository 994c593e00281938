"""The session's idle timeout, kept honest while a page polls (PRIVACY.md: a screen left open logs out).

SESSION_SAVE_EVERY_REQUEST makes SESSION_COOKIE_AGE an inactivity timeout: every request pushes the
expiry on. A page that re-reads itself (the queue every 5 s, the case page's referrals every 10 s) would
then keep a session alive for as long as the tab stays open, with nobody at the desk. A background poll
carries POLL_HEADER (static/js/referral.js sets it on the live sections' own GETs, never on a click), and
such a request is not activity: its session is read but not saved, so the expiry stays where the last
real request put it.

Once that expiry passes, the poll is redirected to the login page like any other request; htmx would
follow that redirect inside the XHR and paste the login form where the table was. An htmx request sent
to the login page is answered instead with HX-Redirect, so the whole page goes to the login form and
comes back to where it was once the counselor has logged in again.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

POLL_HEADER = "X-Yeongye-Poll"


def is_poll(request: HttpRequest) -> bool:
    """A live section's background re-read: a GET from htmx that carries POLL_HEADER."""
    return request.method == "GET" and request.headers.get("HX-Request") == "true" and POLL_HEADER in request.headers


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, except that a background poll neither saves the session nor pushes its
    expiry on (a changed session — a login, a message stored — is still saved)."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        if session is not None and is_poll(request) and not session.modified and not session.is_empty():
            if session.accessed:
                patch_vary_headers(response, ("Cookie",))
            return response
        return super().process_response(request, response)


class HtmxLoginRedirectMiddleware:
    """An htmx request redirected to the login page (its session expired) sends the whole page there, with
    `next` the page the browser shows, instead of swapping the login form into a table."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code not in (301, 302) or request.headers.get("HX-Request") != "true":
            return response
        login = resolve_url(settings.LOGIN_URL)
        if urlsplit(response.get("Location", "")).path != login:
            return response
        page = urlsplit(request.headers.get("HX-Current-URL", ""))
        # Only a path of this site goes into `next` (the login view checks it again).
        back = (
            page.path + (f"?{page.query}" if page.query else "")
            if page.path.startswith("/") and not page.path.startswith("//")
            else ""
        )
        target = f"{login}?{urlencode({REDIRECT_FIELD_NAME: back})}" if back else login
        return HttpResponseClientRedirect(target)
