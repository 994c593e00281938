from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from centers.selectors import actor_for


def staff(request: HttpRequest) -> dict[str, Any]:
    return {"actor": actor_for(request.user)}
