from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from referral.selectors import unread_notification_count


def notifications(request: HttpRequest) -> dict[str, Any]:
    user = request.user
    return {"unread_notifications": unread_notification_count(user_id=user.pk) if user.is_authenticated else 0}
