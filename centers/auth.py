"""The session's user, read once with what every page shows of them (role, center)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class StaffModelBackend(ModelBackend):
    """Django's ModelBackend, whose `get_user` (run on every request with a session) also joins the staff
    profile and its center: the header, `actor_for` and the scoping of every page need them, and they would
    otherwise cost two more queries per request (DESIGN.md "Performance targets": the floor)."""

    def get_user(self, user_id: Any) -> Any:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.select_related("staff__center").get(pk=user_id)
        except user_model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
