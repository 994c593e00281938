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

import time
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


TOUCHED_KEY = "_touched"


def touch_seconds() -> int:
    """How often activity saves an unchanged session: SESSION_TOUCH_SECONDS, and never more than a tenth of the
    idle timeout (a short timeout, as in tests or a kiosk, is then pushed on by nearly every request)."""
    return min(settings.SESSION_TOUCH_SECONDS, settings.SESSION_COOKIE_AGE // 10)


class SessionMiddleware(DjangoSessionMiddleware):
    """Django's session middleware, except that a background poll neither saves the session nor pushes its
    expiry on (a changed session — a login, a message stored — is still saved), and that real activity pushes
    it on at most once every SESSION_TOUCH_SECONDS.

    Saving on every request (SESSION_SAVE_EVERY_REQUEST) wrote the session row on every page and API call:
    three statements (BEGIN, UPDATE, COMMIT) and a cache write per request, on every web node, for an expiry
    that moves by seconds. Now an unchanged session is saved when its last save is SESSION_TOUCH_SECONDS old,
    so the idle timeout still counts from the last real request, to within that many seconds."""

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        session = getattr(request, "session", None)
        # An empty session (never used, or flushed at logout) is Django's to delete: nothing is added to it.
        if session is not None and not session.is_empty():
            now = int(time.time())
            recent = now - int(session.get(TOUCHED_KEY, 0)) < touch_seconds()
            if not session.modified and (is_poll(request) or recent):
                if session.accessed:
                    patch_vary_headers(response, ("Cookie",))
                return response
            session[TOUCHED_KEY] = now
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
