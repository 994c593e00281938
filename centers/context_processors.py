from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from centers.selectors import actor_for


def staff(request: HttpRequest) -> dict[str, Any]:
    actor = actor_for(request.user)
    unread = 0
    if actor.user_id is not None:
        from referral.models import Notification

        unread = Notification.objects.filter(user_id=actor.user_id, read_at__isnull=True).count()
    return {"actor": actor, "unread_notifications": unread}
