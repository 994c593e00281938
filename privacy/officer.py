"""The one check behind every privacy-officer-only service (logs, ledgers, reviews, destruction approvals)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from centers.models import Role
from centers.selectors import actor_for
from core.errors import PermissionDenied


def require_officer(user: Any) -> None:
    if actor_for(user).role != Role.PRIVACY_OFFICER:
        raise PermissionDenied(_("Only the privacy officer can do this."))
