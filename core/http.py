"""Request helpers shared by the apps' pages and API views."""

from __future__ import annotations

from typing import Any


def client_ip(request: Any) -> str | None:
    """The address an access record stores for this request (Django's or DRF's request).

    REMOTE_ADDR only, the connection's peer: no header a client could write (X-Forwarded-For) is trusted.
    """
    return request.META.get("REMOTE_ADDR") or None
