"""Read queries for the directory and the caller's role and center."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, QuerySet

from centers.models import CENTER_ROLES, Center, Desk, Role, Service, ServiceOutcome


@dataclass(frozen=True)
class Actor:
    """What a request may touch: the user's role and, for center roles, their center."""

    user_id: int | None
    role: str | None
    center_id: int | None

    @property
    def is_center_staff(self) -> bool:
        return self.role in CENTER_ROLES and self.center_id is not None

    @property
    def is_manager(self) -> bool:
        return self.role == Role.CENTER_MANAGER

    @property
    def is_ministry(self) -> bool:
        return self.role == Role.MINISTRY

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def actor_for(user: AbstractBaseUser | AnonymousUser) -> Actor:
    if not user.is_authenticated:
        return Actor(None, None, None)
    profile = getattr(user, "staff", None)
    if profile is None:
        return Actor(user.pk, Role.ADMIN if getattr(user, "is_superuser", False) else None, None)
    return Actor(user.pk, profile.role, profile.center_id)


def center_list(*, kind: str | None = None, region: str | None = None) -> QuerySet[Center]:
    qs = Center.objects.filter(active=True).select_related("region")
    if kind:
        qs = qs.filter(kind=kind)
    if region:
        qs = qs.filter(region__code=region)
    return qs


def desk_list() -> QuerySet[Desk]:
    """Desks with their center and services; the referral app adds each desk's load (open referrals)."""
    return Desk.objects.select_related("center").prefetch_related(
        Prefetch("services", queryset=Service.objects.only("id", "code", "name", "name_en"))
    )


def service_list() -> QuerySet[Service]:
    return Service.objects.prefetch_related(Prefetch("outcomes", queryset=ServiceOutcome.objects.order_by("code")))


def directory_for_page(*, kind: str | None, region: str | None) -> QuerySet[Center]:
    desks = Desk.objects.filter(active=True).prefetch_related("services").order_by("-outreach", "domain")
    return center_list(kind=kind, region=region).prefetch_related(
        Prefetch("desks", queryset=desks, to_attr="active_desks")
    )
