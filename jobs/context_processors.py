from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from centers.selectors import actor_for
from jobs.services import can_read


def jobs_nav(request: HttpRequest) -> dict[str, Any]:
    """Whether the nav shows the job market: the same rule the selectors apply (jobs.services.can_read)."""
    return {"jobs_nav": can_read(actor_for(request.user))}
