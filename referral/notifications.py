"""In-app notifications and their e-mail copies (sent on the `notifications` queue).

The task lives here so CELERY_TASK_ROUTES (`referral.notifications.*`) sends it to its own queue.
A failed e-mail is recorded on the notification; it never blocks the transition that caused it.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Iterable, Sequence

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from centers.models import Role
from core.queueing import enqueue_on_commit, task_options
from referral.models import Notification, Referral
from referral.selectors import unread_count_key

logger = logging.getLogger(__name__)
User = get_user_model()


class NotificationKind:
    ARRIVED = "arrived"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REJECTED = "rejected"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ESCALATED = "escalated"


def _message(kind: str, referral: Referral, extra: str = "") -> str:
    service = referral.service.name
    with translation.override(settings.LANGUAGE_CODE):
        texts = {
            NotificationKind.ARRIVED: gettext("New referral R%(id)s for %(service)s has arrived at your desk."),
            NotificationKind.ACCEPTED: gettext("Referral R%(id)s (%(service)s) was accepted."),
            NotificationKind.DECLINED: gettext("Referral R%(id)s (%(service)s) was declined and is being re-routed."),
            NotificationKind.REJECTED: gettext("Referral R%(id)s (%(service)s) could not be placed: no desk is left."),
            NotificationKind.COMPLETED: gettext("Referral R%(id)s (%(service)s) was completed."),
            NotificationKind.FAILED: gettext("Referral R%(id)s (%(service)s) was closed as failed."),
            NotificationKind.CANCELLED: gettext("Referral R%(id)s (%(service)s) was cancelled by the sender."),
            NotificationKind.ESCALATED: gettext("Referral R%(id)s (%(service)s) is overdue: %(step)s."),
        }
        return (texts[kind] % {"id": referral.pk, "service": service, "step": extra})[:300]


def notifications_add(rows: Sequence[Notification]) -> list[Notification]:
    """Insert in-app notifications (any app's) and let the recipients' header badges count them again once
    the rows are committed."""
    made = Notification.objects.bulk_create(list(rows))
    forget_unread_counts({n.user_id for n in made})
    return made


def forget_unread_counts(user_ids: Iterable[int]) -> None:
    keys = [unread_count_key(uid) for uid in set(user_ids)]
    if keys:
        # Now, for the rest of this transaction's requests, and again once committed: a page read in between
        # may have cached the count from before.
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys))


def notify(*, users: Iterable[int], referral: Referral, kind: str, extra: str = "") -> list[Notification]:
    """Create in-app notifications (inside the caller's transaction) and e-mail them after commit."""
    ids = sorted(set(users))
    if not ids:
        return []
    message = _message(kind, referral, extra)
    rows = notifications_add([Notification(user_id=uid, referral=referral, kind=kind, message=message) for uid in ids])
    for row in rows:
        enqueue_on_commit(send_notification_email, row.pk)
    return rows


def notify_many(*, users: Iterable[int], referrals: Sequence[Referral], kind: str) -> list[Notification]:
    """One notification per person for many referrals of the same kind (a partner batch routed at once);
    a single referral is told as `notify` tells it."""
    if len(referrals) == 1:
        return notify(users=users, referral=referrals[0], kind=kind)
    ids = sorted(set(users))
    if not ids or not referrals:
        return []
    first = min(referrals, key=lambda r: r.pk)
    with translation.override(settings.LANGUAGE_CODE):
        texts = {
            NotificationKind.ARRIVED: gettext("%(n)d new referrals have arrived at your desk (from R%(id)s)."),
            NotificationKind.REJECTED: gettext("%(n)d referrals could not be placed: no desk is left (from R%(id)s)."),
        }
        message = (texts[kind] % {"n": len(referrals), "id": first.pk})[:300]
    rows = notifications_add([Notification(user_id=uid, referral=first, kind=kind, message=message) for uid in ids])
    for row in rows:
        enqueue_on_commit(send_notification_email, row.pk)
    return rows


def desk_staff_ids(*, desk_id: int, center_id: int) -> list[int]:
    """Staff who work the desk; if nobody is attached to it, every counselor and manager of its center."""
    users = User.objects.filter(is_active=True, staff__desks=desk_id).values_list("pk", flat=True)
    ids = list(users)
    if ids:
        return ids
    return list(
        User.objects.filter(
            is_active=True, staff__center_id=center_id, staff__role__in=[Role.COUNSELOR, Role.CENTER_MANAGER]
        ).values_list("pk", flat=True)
    )


def manager_ids(*, center_id: int) -> list[int]:
    return list(
        User.objects.filter(Q(staff__role=Role.CENTER_MANAGER), is_active=True, staff__center_id=center_id).values_list(
            "pk", flat=True
        )
    )


def notifications_for(user_id: int) -> list[Notification]:
    return list(Notification.objects.filter(user_id=user_id).select_related("referral")[:100])


def notification_mark_read(*, user_id: int, notification_id: int | None = None) -> int:
    qs = Notification.objects.filter(user_id=user_id, read_at__isnull=True)
    if notification_id is not None:
        qs = qs.filter(pk=notification_id)
    changed = qs.update(read_at=timezone.now())
    if changed:
        forget_unread_counts([user_id])
    return changed


@shared_task(name="referral.notifications.send_notification_email", **task_options(30, 45))
def send_notification_email(notification_id: int) -> None:
    """Idempotent: a notification already e-mailed is not sent again."""
    n = Notification.objects.select_related("user").filter(pk=notification_id, emailed_at__isnull=True).first()
    if n is None:
        return
    address = n.user.email
    if not address:
        Notification.objects.filter(pk=n.pk).update(email_error="no e-mail address")
        return
    try:
        send_mail(
            subject=f"[연계] {n.message[:80]}",
            message=n.message,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[address],
        )
    except (smtplib.SMTPException, OSError) as exc:
        logger.warning("e-mail for notification %s failed: %s", n.pk, exc)
        Notification.objects.filter(pk=n.pk).update(email_error=str(exc)[:300] or exc.__class__.__name__)
        return
    Notification.objects.filter(pk=n.pk, emailed_at__isnull=True).update(emailed_at=timezone.now(), email_error="")
