"""State changes for the directory and staff accounts."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import translation
from django.utils.translation import gettext as _

from centers.models import (
    CENTER_ROLES,
    Center,
    CenterKind,
    Desk,
    Domain,
    Region,
    Role,
    Service,
    ServiceOutcome,
    StaffProfile,
)
from core.errors import InvalidInput
from core.orm import full_clean_or_invalid

DATA_DIR = Path(__file__).resolve().parent / "data"


class DirectoryFileError(Exception):
    """A malformed row: names the file, the line and the reason. Nothing is loaded."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path.name}, line {line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


@dataclass
class LoadResult:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deactivated: dict[str, int] = field(default_factory=dict)


def _rows(path: Path, columns: list[str]) -> Iterator[tuple[int, dict[str, str]]]:
    if not path.exists():
        raise DirectoryFileError(path, 0, "file not found")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header != columns:
            raise DirectoryFileError(path, 1, f"expected columns {','.join(columns)}, got {','.join(header or [])}")
        seen: set[str] = set()
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(columns):
                raise DirectoryFileError(path, line, f"expected {len(columns)} fields, got {len(row)}")
            values = {k: v.strip() for k, v in zip(columns, row, strict=True)}
            key = values[columns[0]]
            if not key:
                raise DirectoryFileError(path, line, f"{columns[0]} is empty")
            if key in seen:
                raise DirectoryFileError(path, line, f"duplicate {columns[0]} {key!r}")
            seen.add(key)
            yield line, values


def _check(path: Path, line: int, ok: bool, reason: str) -> None:
    if not ok:
        raise DirectoryFileError(path, line, reason)


def _parse(path: Path, line: int, what: str, value: str, parse: Callable[[str], Any]) -> Any:
    try:
        return parse(value)
    except (ValueError, InvalidOperation):
        raise DirectoryFileError(path, line, f"{what} {value!r} is not valid") from None


def _model_check(path: Path, line: int, instance: Model, *, exclude: list[str]) -> None:
    """The model's own field checks and `clean()` invariants (the ones the admin applies), per row.

    Relations are excluded: the rows they point to are loaded later in the same transaction.
    Reasons are in English, like every other reason this loader gives.
    """
    with translation.override("en"):
        try:
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            reason = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
            raise DirectoryFileError(path, line, reason) from None


def _read_directory(data_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Parse and validate every file before anything is written."""
    regions, services, centers, desks = [], [], [], []
    p = data_dir / "regions.csv"
    for line, r in _rows(p, ["code", "name", "name_en"]):
        _check(p, line, len(r["code"]) == 2 and r["code"].isdigit(), f"region code {r['code']!r} must be two digits")
        _check(p, line, bool(r["name"]), "name is empty")
        regions.append(r)
    region_names = {r["name"] for r in regions}

    p = data_dir / "services.csv"
    for line, r in _rows(p, ["code", "domain", "name", "name_en", "outcomes", "bring"]):
        _check(p, line, r["domain"] in Domain.values, f"unknown domain {r['domain']!r}")
        _check(p, line, bool(r["name"]), "name is empty")
        outcomes = []
        for item in filter(None, r["outcomes"].split("|")):
            parts = item.split(":")
            _check(
                p, line, len(parts) == 4 and parts[3] in {"0", "1"}, f"outcome {item!r} must be code:name:name_en:0|1"
            )
            outcomes.append({"code": parts[0], "name": parts[1], "name_en": parts[2], "achieved": parts[3] == "1"})
        _check(p, line, bool(outcomes), "a service needs at least one outcome")
        bring = [item.strip() for item in r["bring"].split("|") if item.strip()]
        _check(p, line, bool(bring), "a service needs at least one item to bring (the referral slip lists them)")
        services.append({**r, "outcomes": outcomes, "bring": "\n".join(bring), "line": line})
    service_codes = {s["code"] for s in services}

    p = data_dir / "centers.csv"
    cols = ["code", "kind", "name", "name_en", "sido", "sigungu", "latitude", "longitude"]
    for line, r in _rows(p, cols):
        _check(p, line, r["kind"] in CenterKind.values, f"unknown center kind {r['kind']!r}")
        _check(p, line, r["sido"] in region_names, f"unknown region {r['sido']!r}")
        _check(p, line, bool(r["name"]), "name is empty")
        lat = _parse(p, line, "latitude", r["latitude"], Decimal)
        lon = _parse(p, line, "longitude", r["longitude"], Decimal)
        center = Center(code=r["code"], kind=r["kind"], name=r["name"], name_en=r["name_en"], sigungu=r["sigungu"])
        center.latitude, center.longitude = lat, lon
        _model_check(p, line, center, exclude=["region"])
        centers.append({**r, "latitude": lat, "longitude": lon})
    center_codes = {c["code"] for c in centers}

    p = data_dir / "desks.csv"
    cols = [
        "code",
        "center",
        "name",
        "domain",
        "outreach",
        "operator_kind",
        "services",
        "open_days",
        "opens_at",
        "closes_at",
        "capacity",
        "slot_minutes",
        "slot_places",
    ]
    for line, r in _rows(p, cols):
        _check(p, line, r["center"] in center_codes, f"unknown center {r['center']!r}")
        _check(p, line, r["domain"] in Domain.values, f"unknown domain {r['domain']!r}")
        _check(p, line, r["outreach"] in {"0", "1"}, "outreach must be 0 or 1")
        _check(p, line, r["operator_kind"] in CenterKind.values, f"unknown operator kind {r['operator_kind']!r}")
        codes = r["services"].split()
        _check(p, line, bool(codes), "a desk needs at least one service")
        unknown = [c for c in codes if c not in service_codes]
        _check(p, line, not unknown, f"unknown service {', '.join(unknown)}")
        days = sorted({_parse(p, line, "weekday", d, int) for d in r["open_days"].split()})
        opens = _parse(p, line, "opens_at", r["opens_at"], dt.time.fromisoformat)
        closes = _parse(p, line, "closes_at", r["closes_at"], dt.time.fromisoformat)
        capacity = _parse(p, line, "capacity", r["capacity"], int)
        _check(p, line, capacity >= 0, "capacity must not be negative")
        slot_minutes = _parse(p, line, "slot_minutes", r["slot_minutes"], int)
        slot_places = _parse(p, line, "slot_places", r["slot_places"], int)
        _check(p, line, slot_minutes > 0 and slot_places > 0, "slot_minutes and slot_places must be positive")
        desk = Desk(
            code=r["code"],
            name=r["name"],
            domain=r["domain"],
            outreach=r["outreach"] == "1",
            operator_kind=r["operator_kind"],
            open_days=days,
            opens_at=opens,
            closes_at=closes,
            capacity=capacity,
            slot_minutes=slot_minutes,
            slot_places=slot_places,
        )
        _model_check(p, line, desk, exclude=["center", "services"])
        desks.append(
            {
                **r,
                "outreach": r["outreach"] == "1",
                "services": codes,
                "open_days": days,
                "opens_at": opens,
                "closes_at": closes,
                "capacity": capacity,
                "slot_minutes": slot_minutes,
                "slot_places": slot_places,
            }
        )
    return {"regions": regions, "services": services, "centers": centers, "desks": desks}


def _upsert(model: Any, lookup: dict[str, Any], values: dict[str, Any], result: LoadResult, label: str) -> Any:
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        obj = model.objects.create(**lookup, **values)
        result.created[label] = result.created.get(label, 0) + 1
        return obj
    changed = [k for k, v in values.items() if getattr(obj, k) != v]
    if changed:
        for k in changed:
            setattr(obj, k, values[k])
        obj.save(update_fields=changed)
        result.updated[label] = result.updated.get(label, 0) + 1
    return obj


def directory_load(*, data_dir: Path = DATA_DIR) -> LoadResult:
    """Load or update regions, services, centers and desks. Idempotent; all or nothing."""
    data = _read_directory(data_dir)
    result = LoadResult()
    with transaction.atomic():
        regions = {
            r["name"]: _upsert(
                Region, {"code": r["code"]}, {"name": r["name"], "name_en": r["name_en"]}, result, "regions"
            )
            for r in data["regions"]
        }
        services: dict[str, Service] = {}
        for order, s in enumerate(data["services"]):
            svc = _upsert(
                Service,
                {"code": s["code"]},
                {
                    "name": s["name"],
                    "name_en": s["name_en"],
                    "domain": s["domain"],
                    "sort_order": order,
                    "bring": s["bring"],
                },
                result,
                "services",
            )
            services[s["code"]] = svc
            for o in s["outcomes"]:
                _upsert(
                    ServiceOutcome,
                    {"service": svc, "code": o["code"]},
                    {"name": o["name"], "name_en": o["name_en"], "achieved": o["achieved"]},
                    result,
                    "outcomes",
                )
            stale = ServiceOutcome.objects.filter(service=svc).exclude(code__in=[o["code"] for o in s["outcomes"]])
            stale.delete()
        centers: dict[str, Center] = {}
        for c in data["centers"]:
            centers[c["code"]] = _upsert(
                Center,
                {"code": c["code"]},
                {
                    "kind": c["kind"],
                    "name": c["name"],
                    "name_en": c["name_en"],
                    "region": regions[c["sido"]],
                    "sigungu": c["sigungu"],
                    "latitude": c["latitude"],
                    "longitude": c["longitude"],
                    "active": True,
                },
                result,
                "centers",
            )
        n = Center.objects.exclude(code__in=centers).filter(active=True).update(active=False)
        if n:
            result.deactivated["centers"] = n
        for d in data["desks"]:
            desk = _upsert(
                Desk,
                {"code": d["code"]},
                {
                    "center": centers[d["center"]],
                    "name": d["name"],
                    "domain": d["domain"],
                    "outreach": d["outreach"],
                    "operator_kind": d["operator_kind"],
                    "open_days": d["open_days"],
                    "opens_at": d["opens_at"],
                    "closes_at": d["closes_at"],
                    "capacity": d["capacity"],
                    "slot_minutes": d["slot_minutes"],
                    "slot_places": d["slot_places"],
                    "active": True,
                },
                result,
                "desks",
            )
            wanted = {services[c].pk for c in d["services"]}
            if set(desk.services.values_list("pk", flat=True)) != wanted:
                desk.services.set(wanted)
        n = Desk.objects.exclude(code__in=[d["code"] for d in data["desks"]]).filter(active=True).update(active=False)
        if n:
            result.deactivated["desks"] = n
    return result


def staff_create_or_update(
    *,
    username: str,
    password: str,
    role: str,
    center_code: str | None = None,
    email: str = "",
    full_name: str | None = None,
    check_password_strength: bool = True,
) -> tuple[AbstractUser, bool]:
    """Create or update a staff account with one role and, for center roles, one center.

    `full_name` is the name colleagues see ("김상담"): kept whole in first_name, as Korean names are written
    surname first without a space (Django's get_full_name then gives it back unchanged)."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}; use one of {', '.join(Role.values)}.", field="role")
    center = None
    if role in CENTER_ROLES:
        if not center_code:
            raise InvalidInput(f"The {role} role needs a center (--center CODE).", field="center")
    if center_code:
        center = Center.objects.filter(code=center_code).first()
        if center is None:
            raise InvalidInput(f"Unknown center code {center_code!r}.", field="center")
        if role not in CENTER_ROLES:
            raise InvalidInput(f"The {role} role is not tied to a center; leave --center out.", field="center")
    if not username or len(username) > 150:
        raise InvalidInput("A username of 1 to 150 characters is required.", field="username")
    User = get_user_model()
    with transaction.atomic():
        user, created = User.objects.select_for_update().get_or_create(username=username)
        if check_password_strength:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise InvalidInput(" ".join(exc.messages), field="password") from None
        user.set_password(password)
        user.is_staff = role == Role.ADMIN
        user.is_superuser = role == Role.ADMIN
        if email:
            user.email = email
        if full_name is not None:
            if len(full_name) > 150:
                raise InvalidInput("A name has at most 150 characters.", field="full_name")
            user.first_name, user.last_name = full_name.strip(), ""
        user.save()
        profile = StaffProfile.objects.filter(user=user).first() or StaffProfile(user=user)
        profile.role, profile.center = role, center
        # The same role rules as the admin's staff profile form (StaffProfile.clean).
        full_clean_or_invalid(profile)
        profile.save()
    return user, created


# --- Account security: password change and the optional TOTP second factor. ---

# Roles that may (and, once enrolled, must) use a second factor.
OTP_ROLES = frozenset({Role.CENTER_MANAGER, Role.PRIVACY_OFFICER, Role.ADMIN})


def staff_change_password(*, user: AbstractUser, old_password: str, new_password: str) -> None:
    """Change a staff password and log the user out everywhere else.

    Sessions elsewhere die because Django checks each session's stored password hash on every
    request; the API token is deleted so scripts must log in again with the new password.
    The caller keeps its own session with `update_session_auth_hash`.
    """
    from rest_framework.authtoken.models import Token

    if not user.check_password(old_password):
        raise InvalidInput(_("Your current password was entered incorrectly."), field="old_password")
    try:
        validate_password(new_password, user)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="new_password") from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        Token.objects.filter(user_id=user.pk).delete()


def staff_may_use_otp(user: AbstractUser) -> bool:
    profile = getattr(user, "staff", None)
    role = profile.role if profile is not None else (Role.ADMIN if user.is_superuser else None)
    return role in OTP_ROLES


def staff_totp_begin(*, user: AbstractUser) -> Any:
    """Start (or restart) enrolment: one unconfirmed TOTP device with a fresh key."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    if not staff_may_use_otp(user):
        raise InvalidInput("A second factor is offered to center managers and administrators only.")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=False).delete()
        return TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)


def staff_totp_confirm(*, user: AbstractUser, token: str) -> Any:
    """Confirm the pending device with a code from the authenticator app; replaces any older device."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).first()
        if device is None:
            raise InvalidInput(_("Start the enrolment again: no authenticator is waiting for confirmation."))
        if not device.verify_token(token.strip()):
            raise InvalidInput("That code is not valid. Check the time on your phone and try again.", field="token")
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
    return device


def staff_totp_remove(*, user: AbstractUser) -> None:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).delete()
