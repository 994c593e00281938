"""Request helpers shared by the apps' pages and API views."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse


def client_ip(request: Any) -> str | None:
    """The address an access record stores for this request (Django's or DRF's request).

    REMOTE_ADDR only, the connection's peer: no header a client could write (X-Forwarded-For) is trusted.
    """
    return request.META.get("REMOTE_ADDR") or None


# --- Where the current request came from, for the access records a service writes -------------------------
# A service that writes a person's data records it (safeguard notice §8①: 입력·변경) with the screen or
# endpoint and the address; it has no request, so the middleware leaves both here for the request's duration.
_where: contextvars.ContextVar[str] = contextvars.ContextVar("access_where", default="")
_address: contextvars.ContextVar[str | None] = contextvars.ContextVar("access_address", default=None)
# (client, action, where) already recorded in this request: an intake writes the client, two consents and a
# case in one go, and that is one "entry" of the client's data, not four.
_recorded: contextvars.ContextVar[set[tuple[int, str, str]] | None] = contextvars.ContextVar(
    "access_recorded", default=None
)


def current_where() -> str:
    """The URL name of the view being run ("cases:intake", "client-list"), or "" outside a request."""
    return _where.get()


def current_address() -> str | None:
    return _address.get()


def first_in_request(client_id: int, action: str, where: str) -> bool:
    """True the first time this (client, action, where) is seen in the current request (always outside one)."""
    seen = _recorded.get()
    if seen is None:
        return True
    key = (client_id, action, where)
    if key in seen:
        return False
    seen.add(key)
    return True


class AccessContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tokens = (_address.set(client_ip(request)), _recorded.set(set()), _where.set(""))
        try:
            return self.get_response(request)
        finally:
            _address.reset(tokens[0])
            _recorded.reset(tokens[1])
            _where.reset(tokens[2])

    def process_view(self, request: HttpRequest, view_func: Any, args: Any, kwargs: Any) -> None:
        match = request.resolver_match
        name = match.view_name if match is not None else ""
        _where.set(name[:100] if name else request.path[:100])
