"""The directory: regions, centers, the desks they host, the service catalog, staff and roles."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class CenterKind(models.TextChoices):
    EMPLOYMENT_WELFARE = "employment_welfare", _("Employment-Welfare Plus Center")
    MICROFINANCE = "microfinance", _("Microfinance Integrated Support Center")
    LOCAL_GOVERNMENT = "local_government", _("Local government")
    MIDLIFE_CAREER = "midlife_career", _("Middle-aged Career Center")
    CREDIT_RECOVERY = "credit_recovery", _("Credit recovery")
    OTHER = "other", _("Other")


class Domain(models.TextChoices):
    EMPLOYMENT = "employment", _("Employment")
    WELFARE = "welfare", _("Welfare")
    FINANCE = "finance", _("Finance")


class Role(models.TextChoices):
    COUNSELOR = "counselor", _("Counselor")
    CENTER_MANAGER = "center_manager", _("Center manager")
    MINISTRY = "ministry", _("Ministry staff")
    PRIVACY_OFFICER = "privacy_officer", _("Privacy officer")
    ADMIN = "admin", _("System admin")


# Roles that belong to exactly one center and work its clients and referrals.
CENTER_ROLES = frozenset({Role.COUNSELOR, Role.CENTER_MANAGER})


# Korea's mainland and islands (Marado 33.1° N to the DMZ, Baengnyeongdo 124.6° E to Dokdo 131.9° E).
KOREA_LATITUDE = (Decimal(33), Decimal(39))
KOREA_LONGITUDE = (Decimal(124), Decimal(132))


class Region(models.Model):
    """A 시도 with its administrative code (행정표준코드 시도 2자리)."""

    code = models.CharField(_("code"), max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=20, unique=True)
    name_en = models.CharField(_("English name"), max_length=40)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return self.name


class Center(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=150, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=CenterKind.choices, db_index=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="centers", verbose_name=_("region"))
    sigungu = models.CharField(_("district (시군구)"), max_length=30, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("center")
        verbose_name_plural = _("centers")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """The center lies in Korea: routing measures distances from these coordinates."""
        errors = {}
        low, high = KOREA_LATITUDE
        if self.latitude is not None and not low <= Decimal(self.latitude) <= high:
            errors["latitude"] = _("The latitude %(value)s is outside Korea (33 to 39° N).") % {"value": self.latitude}
        low, high = KOREA_LONGITUDE
        if self.longitude is not None and not low <= Decimal(self.longitude) <= high:
            errors["longitude"] = _("The longitude %(value)s is outside Korea (124 to 132° E).") % {
                "value": self.longitude
            }
        if errors:
            raise ValidationError(errors)


class Service(models.Model):
    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices, db_index=True)
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    # What the client brings to the first meeting (the referral slip lists it), one item a line.
    bring = models.TextField(_("what to bring"), blank=True)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    @property
    def bring_items(self) -> list[str]:
        return [line.strip() for line in self.bring.splitlines() if line.strip()]


class ServiceOutcome(models.Model):
    """An outcome code that can close a referral for a service (e.g. job_placement → hired)."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("service"))
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=100)
    name_en = models.CharField(_("English name"), max_length=100)
    achieved = models.BooleanField(_("counts as achieved"), default=True)

    class Meta:
        ordering = ["service", "code"]
        constraints = [models.UniqueConstraint(fields=["service", "code"], name="uniq_service_outcome")]
        verbose_name = _("service outcome")
        verbose_name_plural = _("service outcomes")

    def __str__(self) -> str:
        return f"{self.service.code}:{self.code}"


DEFAULT_SLOT_MINUTES = 30
SLOT_MINUTES_RANGE = (10, 240)
SLOT_PLACES_RANGE = (1, 20)

WEEKDAYS = [(0, _("Mon")), (1, _("Tue")), (2, _("Wed")), (3, _("Thu")), (4, _("Fri")), (5, _("Sat")), (6, _("Sun"))]


class Desk(models.Model):
    """A counseling desk (창구) hosted at a center, possibly staffed by a partner organization."""

    code = models.CharField(_("code"), max_length=60, unique=True)
    center = models.ForeignKey(Center, on_delete=models.PROTECT, related_name="desks", verbose_name=_("center"))
    name = models.CharField(_("name"), max_length=100)
    domain = models.CharField(_("domain"), max_length=20, choices=Domain.choices)
    outreach = models.BooleanField(_("outreach desk"), default=False)
    operator_kind = models.CharField(
        _("operating organization"),
        max_length=20,
        choices=CenterKind.choices,
        help_text=_("Who staffs the desk; a finance desk in an employment-welfare center is run by microfinance."),
    )
    services = models.ManyToManyField(Service, related_name="desks", verbose_name=_("services"))
    # Weekdays the desk is open, 0 = Monday.
    open_days = models.JSONField(_("open weekdays"), default=list)
    opens_at = models.TimeField(_("opens at"), default="09:00")
    closes_at = models.TimeField(_("closes at"), default="18:00")
    capacity = models.PositiveIntegerField(_("capacity (open referrals)"), default=50)
    # Bookable slots (centers.slots): the opening hours cut into slots of this length, each taking
    # this many clients (one per counselor seeing clients at the desk).
    slot_minutes = models.PositiveSmallIntegerField(
        _("slot length (minutes)"), default=DEFAULT_SLOT_MINUTES, help_text=_("From 10 to 240 minutes.")
    )
    slot_places = models.PositiveSmallIntegerField(
        _("clients per slot"), default=1, help_text=_("How many clients one slot takes (1 to 20).")
    )
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["center__code", "code"]
        indexes = [models.Index(fields=["active", "domain"], name="desk_active_domain")]
        verbose_name = _("desk")
        verbose_name_plural = _("desks")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Open on one or more weekdays, each once, and open before it closes."""
        errors: dict[str, Any] = {}
        days = self.open_days
        if (
            not isinstance(days, list)
            or not days
            or any(isinstance(d, bool) or not isinstance(d, int) or not 0 <= d <= 6 for d in days)
            or len(set(days)) != len(days)
        ):
            errors["open_days"] = _("Open days must be one or more weekdays from 0 (Monday) to 6 (Sunday), each once.")
        if self.opens_at is not None and self.closes_at is not None and not self.opens_at < self.closes_at:
            errors["closes_at"] = _("The desk must open before it closes (opens_at before closes_at).")
        low, high = SLOT_MINUTES_RANGE
        if self.slot_minutes is not None and not low <= self.slot_minutes <= high:
            errors["slot_minutes"] = _("A slot lasts from %(low)s to %(high)s minutes.") % {"low": low, "high": high}
        elif (
            self.slot_minutes is not None
            and "closes_at" not in errors
            and isinstance(self.opens_at, dt.time)
            and isinstance(self.closes_at, dt.time)
            and _minutes(self.closes_at) - _minutes(self.opens_at) < self.slot_minutes
        ):
            errors["slot_minutes"] = _("One slot must fit between the opening and the closing time.")
        low, high = SLOT_PLACES_RANGE
        if self.slot_places is not None and not low <= self.slot_places <= high:
            errors["slot_places"] = _("A slot takes from %(low)s to %(high)s clients.") % {"low": low, "high": high}
        if errors:
            raise ValidationError(errors)

    def schedule_display(self) -> str:
        labels = dict(WEEKDAYS)
        days = "·".join(str(labels[d]) for d in sorted(self.open_days) if d in labels)
        return f"{days} {self.opens_at:%H:%M}–{self.closes_at:%H:%M}"


def staff_name(user: object) -> str:
    """How a staff member is named on every page, export and slip: their name, else their username."""
    if user is None:
        return ""
    full = user.get_full_name() if hasattr(user, "get_full_name") else ""
    return full or (user.get_username() if hasattr(user, "get_username") else str(user))


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


class DeskClosure(models.Model):
    """A day the desk is closed besides its weekly schedule and public holidays (training, move, outreach
    cancelled): it has no bookable slots that day."""

    desk = models.ForeignKey(Desk, on_delete=models.CASCADE, related_name="closures", verbose_name=_("desk"))
    date = models.DateField(_("date"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["desk", "date"]
        constraints = [models.UniqueConstraint(fields=["desk", "date"], name="uniq_desk_closure_date")]
        verbose_name = _("desk closure")
        verbose_name_plural = _("desk closures")

    def __str__(self) -> str:
        return f"{self.desk} {self.date:%Y-%m-%d}"


class StaffProfile(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff")
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    center = models.ForeignKey(
        Center, on_delete=models.PROTECT, null=True, blank=True, related_name="staff", verbose_name=_("center")
    )
    desks = models.ManyToManyField(Desk, blank=True, related_name="staff", verbose_name=_("desks worked"))

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(role__in=["counselor", "center_manager"]) | models.Q(center__isnull=False),
                name="center_role_needs_center",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.get_role_display()})"

    def clean(self) -> None:
        """Counselors and center managers work for one center, ministry staff and admins for none;
        the admin site (the user's staff status) is for the system admin role and no other."""
        errors = {}
        if self.role in CENTER_ROLES and self.center_id is None:
            errors["center"] = _("A counselor or center manager needs a center.")
        elif self.role and self.role not in CENTER_ROLES and self.center_id is not None:
            errors["center"] = _("Ministry staff and system admins are not tied to a center; leave the center empty.")
        try:
            user = self.user
        except ObjectDoesNotExist:  # no user yet: the form that makes one checks again
            user = None
        if user is not None and self.role and user.is_staff != (self.role == Role.ADMIN):
            errors["role"] = _(
                "Staff status (access to this admin site) goes with the system admin role only: "
                "set it for system admins and clear it for every other role."
            )
        if errors:
            raise ValidationError(errors)


class PermissionField(models.TextChoices):
    ROLE = "role", _("Role")
    CENTER = "center", _("Center")
    ACTIVE = "active", _("Active")
    SECOND_FACTOR = "second_factor", _("Second factor")


class PermissionChange(models.Model):
    """Permission history (safeguard notice §5③): every grant, change and removal of a staff member's
    role, center, active flag or second factor, with who, when, before and after. Written by signals on
    StaffProfile, User and the TOTP device, whoever saves them (services, commands, the admin); the actor
    is whoever centers.permission_history.acting_as names (None: a command or the system). Kept 3 years."""

    at = models.DateTimeField(_("at"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("changed by"),
    )
    # The username too: the history outlives a deleted account.
    actor_username = models.CharField(_("changed by"), max_length=150, blank=True)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("staff member"),
    )
    subject_username = models.CharField(_("staff member"), max_length=150)
    field = models.CharField(_("what"), max_length=20, choices=PermissionField.choices)
    before = models.CharField(_("before"), max_length=200, blank=True)
    after = models.CharField(_("after"), max_length=200, blank=True)
    via = models.CharField(_("through"), max_length=20)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("permission change")
        verbose_name_plural = _("permission history")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.subject_username} {self.field}: {self.before} → {self.after}"
