"""Permission history (safeguard notice §5③): signals on StaffProfile, User and the TOTP device write a
PermissionChange for every grant, change and removal, whoever saves them.

Who made the change is the request's user (PermissionActorMiddleware names the request; DRF sets the user
on it once it authenticates), or whoever `acting_as` names; with neither (a management command, the
system) the actor is empty and `via` says "command".
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save, pre_delete, pre_save
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from centers.models import PermissionChange, PermissionField, StaffProfile

# (request or user, via)
_actor: ContextVar[tuple[Any, str] | None] = ContextVar("permission_actor", default=None)
RETENTION_YEARS = 3


@contextlib.contextmanager
def acting_as(who: Any, via: str) -> Iterator[None]:
    """Changes made inside are recorded as made by `who` (a user, or a request whose user counts) through `via`."""
    token = _actor.set((who, via))
    try:
        yield
    finally:
        _actor.reset(token)


class PermissionActorMiddleware:
    """Names the request as the actor of any permission change made while it runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path
        via = "admin" if path.startswith("/admin/") else ("api" if path.startswith("/api/") else "web")
        with acting_as(request, via):
            return self.get_response(request)


def _current() -> tuple[int | None, str, str]:
    held = _actor.get()
    if held is None:
        return None, "", "command"
    who, via = held
    user = getattr(who, "user", None) if isinstance(who, HttpRequest) else who
    if user is None or not getattr(user, "is_authenticated", False):
        return None, "", via
    return user.pk, user.get_username(), via


def _record(subject: Any, field: str, before: str, after: str, *, keep_link: bool = True) -> None:
    if before == after:
        return
    actor_id, actor_name, via = _current()
    PermissionChange.objects.create(
        at=timezone.now(),
        actor_id=actor_id,
        actor_username=actor_name,
        # A removal may be part of deleting the account: the row keeps the username, not the link.
        subject_id=subject.pk if keep_link else None,
        subject_username=subject.get_username(),
        field=field,
        before=before,
        after=after,
        via=via,
    )


def _center_code(center_id: int | None) -> str:
    if center_id is None:
        return ""
    from centers.models import Center

    return Center.objects.filter(pk=center_id).values_list("code", flat=True).first() or str(center_id)


def _profile_pre_save(sender: Any, instance: StaffProfile, raw: bool = False, **kwargs: Any) -> None:
    old = StaffProfile.objects.filter(pk=instance.pk).values("role", "center_id").first() if instance.pk else None
    instance._permission_before = old  # type: ignore[attr-defined]


def _profile_post_save(sender: Any, instance: StaffProfile, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if raw:
        return
    old = getattr(instance, "_permission_before", None) or {"role": "", "center_id": None}
    _record(instance.user, PermissionField.ROLE, old["role"] or "", instance.role or "")
    _record(instance.user, PermissionField.CENTER, _center_code(old["center_id"]), _center_code(instance.center_id))


def _profile_post_delete(sender: Any, instance: StaffProfile, **kwargs: Any) -> None:
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    if user is None:
        return
    _record(user, PermissionField.ROLE, instance.role or "", "", keep_link=False)
    if instance.center_id:
        _record(user, PermissionField.CENTER, _center_code(instance.center_id), "", keep_link=False)


def _user_pre_save(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    old = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first() if instance.pk else None
    instance._permission_active_before = old


def _user_post_save(sender: Any, instance: Any, created: bool, raw: bool = False, **kwargs: Any) -> None:
    old = getattr(instance, "_permission_active_before", None)
    if raw or created or old is None:
        return
    _record(instance, PermissionField.ACTIVE, _yes(old), _yes(instance.is_active))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _has_second_factor(user_id: int) -> bool:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return TOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists()


def _device_before(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    instance._permission_otp_before = _has_second_factor(instance.user_id) if instance.user_id else False


def _device_after(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    from django.core.cache import cache
    from django.db import transaction

    from centers.middleware import confirmed_device_key

    # The second-factor check of every page reads this from the cache: forget it now and once committed.
    key = confirmed_device_key(instance.user_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))
    if raw:
        return
    user = get_user_model().objects.filter(pk=instance.user_id).first()
    if user is None:
        return
    before = getattr(instance, "_permission_otp_before", False)
    _record(user, PermissionField.SECOND_FACTOR, _yes(before), _yes(_has_second_factor(instance.user_id)))


def connect() -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user_model = get_user_model()
    pre_save.connect(_profile_pre_save, sender=StaffProfile, dispatch_uid="perm_profile_pre")
    post_save.connect(_profile_post_save, sender=StaffProfile, dispatch_uid="perm_profile_post")
    post_delete.connect(_profile_post_delete, sender=StaffProfile, dispatch_uid="perm_profile_delete")
    pre_save.connect(_user_pre_save, sender=user_model, dispatch_uid="perm_user_pre")
    post_save.connect(_user_post_save, sender=user_model, dispatch_uid="perm_user_post")
    pre_save.connect(_device_before, sender=TOTPDevice, dispatch_uid="perm_otp_pre")
    post_save.connect(_device_after, sender=TOTPDevice, dispatch_uid="perm_otp_post")
    pre_delete.connect(_device_before, sender=TOTPDevice, dispatch_uid="perm_otp_pre_delete")
    post_delete.connect(_device_after, sender=TOTPDevice, dispatch_uid="perm_otp_delete")


def permission_history_purge(*, now: dt.datetime | None = None) -> int:
    """Delete changes older than the 3 years the notice asks them kept; returns how many."""
    now = now or timezone.now()
    try:
        cutoff = now.replace(year=now.year - RETENTION_YEARS)
    except ValueError:  # 29 February
        cutoff = now.replace(year=now.year - RETENTION_YEARS, day=28)
    deleted, _ = PermissionChange.objects.filter(at__lt=cutoff).delete()
    return deleted
