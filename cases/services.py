"""State changes for clients, consents and cases. Keyword-only, one transaction each, domain errors only.

No message raised here ever contains an RRN: errors name the field, never echo the value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.crypto import RrnError, rrn_birth_prefix, rrn_blind_index, rrn_encrypt, rrn_normalize
from cases.models import (
    Case,
    CaseNote,
    CaseResult,
    CaseStatus,
    Channel,
    Client,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    DebtStatus,
    EmploymentStatus,
    Gender,
    IncomeBand,
    Need,
    PiiAccessLog,
)
from cases.needs import NEEDS_BY_CODE
from cases.selectors import pii_actor
from cases.signals import case_opened, consent_withdrawn
from cases.validation import (
    NEED_NOTE_MAX,
    NOTE_MAX,
    birth_date_validate,
    name_validate,
    phone_normalize,
    text_validate,
)
from centers.models import CenterKind, Domain, Region
from core.errors import DuplicateClient, InvalidInput, InvalidTransition, NotFound
from core.orm import prefetched

# How long a consent holds unless withdrawn; the notice on the intake page states the same period.
CONSENT_RETENTION_YEARS = 3
MAX_NEEDS = 20
UNSET: Any = object()
# The request user; services check its role and center through pii_actor.
User = Any


# --- helpers ---------------------------------------------------------------------------------------


def _optional_int(value: object, low: int, high: int, *, field: str, message: str) -> int | None:
    """None for an empty value, the int when it is a whole number in [low, high], else a field error."""
    if value in (None, ""):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise InvalidInput(message, field=field)


def _choice(value: object, choices: Iterable[str], *, field: str, blank: bool = False) -> str:
    if value in (None, "") and blank:
        return ""
    if not isinstance(value, str) or value not in set(choices):
        raise InvalidInput(_("Select a valid choice."), field=field)
    return value


def _center_of(user: User) -> int:
    center_id = pii_actor(user).center_id
    assert center_id is not None  # pii_actor guarantees center staff  # noqa: S101
    return center_id


def _own(user: User, center_id: int) -> None:
    """A row of another center does not exist for the caller (404, existence must not leak)."""
    if _center_of(user) != center_id:
        raise NotFound(_("Not found."))


def _rrn_fields(rrn: object, birth_date: dt.date) -> tuple[bytes, str, str, str]:
    """(ciphertext, blind index, display prefix, gender from the RRN)."""
    if not isinstance(rrn, str):
        raise InvalidInput(_("Enter the resident registration number as 000000-0000000."), field="rrn")
    try:
        digits = rrn_normalize(rrn)
    except RrnError as exc:
        raise InvalidInput(str(exc), field="rrn") from None
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}.get(
        digits[6], 1800
    )
    if (century + int(digits[:2]), int(digits[2:4]), int(digits[4:6])) != (
        birth_date.year,
        birth_date.month,
        birth_date.day,
    ):
        raise InvalidInput(_("The resident registration number does not match the birth date."), field="rrn")
    gender = Gender.MALE if digits[6] in "13579" else Gender.FEMALE
    return rrn_encrypt(digits), rrn_blind_index(digits), rrn_birth_prefix(digits), gender


def _lock_identity(center_id: int, name: str, birth_date: dt.date, phone: str) -> None:
    """Serialize registrations of the same person in PostgreSQL (SQLite already serializes writers)."""
    if connection.vendor != "postgresql":
        return
    key = f"client:{center_id}:{name}:{birth_date.isoformat()}:{phone}".encode()
    lock_id = int.from_bytes(hashlib.sha256(key).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


def _check_duplicate(
    *, center_id: int, rrn_hash: str | None, name: str, birth_date: dt.date, phone: str, exclude: int | None = None
) -> None:
    cond = Q(name=name, birth_date=birth_date, phone=phone)
    if rrn_hash:
        cond |= Q(rrn_hash=rrn_hash)
    qs = Client.objects.filter(cond, center_id=center_id)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    existing = qs.order_by("pk").values_list("pk", flat=True).first()
    if existing is not None:
        raise DuplicateClient(_("This client is already registered at your center."), existing_id=existing)


def _facts(
    *,
    gender: object,
    region: object,
    household_size: object,
    income_band: object,
    employment_status: object,
    debt_status: object,
    arrears_days: object,
) -> dict[str, Any]:
    """Validated values for the routing facts; UNSET leaves a fact as it is."""
    out: dict[str, Any] = {}
    if gender is not UNSET:
        out["gender"] = _choice(gender, Gender.values, field="gender", blank=True)
    if region is not UNSET:
        if region in (None, ""):
            out["region"] = None
        elif isinstance(region, Region):
            out["region"] = region
        else:
            found = Region.objects.filter(code=str(region)).first() if isinstance(region, str | int) else None
            if found is None:
                raise InvalidInput(_("Select a valid region."), field="region")
            out["region"] = found
    if household_size is not UNSET:
        out["household_size"] = _optional_int(
            household_size, 1, 20, field="household_size", message=_("Enter a household size between 1 and 20.")
        )
    if income_band is not UNSET:
        out["income_band"] = _choice(income_band or IncomeBand.UNKNOWN, IncomeBand.values, field="income_band")
    if employment_status is not UNSET:
        out["employment_status"] = _choice(
            employment_status or EmploymentStatus.UNKNOWN, EmploymentStatus.values, field="employment_status"
        )
    if debt_status is not UNSET:
        out["debt_status"] = _choice(debt_status or DebtStatus.UNKNOWN, DebtStatus.values, field="debt_status")
    if arrears_days is not UNSET:
        out["arrears_days"] = _optional_int(
            arrears_days,
            0,
            36500,
            field="arrears_days",
            message=_("Enter the days in arrears as a whole number from 0."),
        )
    if out.get("arrears_days") and "debt_status" in out and out["debt_status"] in (DebtStatus.UNKNOWN, ""):
        out["debt_status"] = DebtStatus.ARREARS
    return out


# --- clients ---------------------------------------------------------------------------------------


@transaction.atomic
def client_register(
    *,
    user: User,
    name: object,
    birth_date: object,
    phone: object,
    rrn: object = "",
    gender: object = "",
    region: object = None,
    household_size: object = None,
    income_band: object = IncomeBand.UNKNOWN,
    employment_status: object = EmploymentStatus.UNKNOWN,
    debt_status: object = DebtStatus.UNKNOWN,
    arrears_days: object = None,
) -> Client:
    """Register a client at the caller's center; DuplicateClient(existing_id=...) if already there."""
    center_id = _center_of(user)
    name = name_validate(name)
    birth = birth_date_validate(birth_date)
    phone = phone_normalize(phone)
    facts = _facts(
        gender=gender,
        region=region,
        household_size=household_size,
        income_band=income_band,
        employment_status=employment_status,
        debt_status=debt_status,
        arrears_days=arrears_days,
    )
    ciphertext, rrn_hash, prefix = None, None, ""
    if rrn not in (None, ""):
        ciphertext, rrn_hash, prefix, rrn_gender = _rrn_fields(rrn, birth)
        facts["gender"] = facts.get("gender") or rrn_gender
    _lock_identity(center_id, name, birth, phone)
    _check_duplicate(center_id=center_id, rrn_hash=rrn_hash, name=name, birth_date=birth, phone=phone)
    client = Client(
        center_id=center_id,
        name=name,
        birth_date=birth,
        phone=phone,
        rrn_ciphertext=ciphertext,
        rrn_hash=rrn_hash,
        rrn_prefix=prefix,
        created_by=user,
        **facts,
    )
    if rrn_hash is None:
        # The advisory lock serializes the name/birth/phone check; without an RRN no unique key can race.
        client.save()
        return client
    try:
        with transaction.atomic():
            client.save()
    except IntegrityError:
        # Another request registered the same RRN between our check and insert.
        _check_duplicate(center_id=center_id, rrn_hash=rrn_hash, name=name, birth_date=birth, phone=phone)
        raise
    return client


@transaction.atomic
def client_update(
    *,
    user: User,
    client: Client,
    name: object = UNSET,
    birth_date: object = UNSET,
    phone: object = UNSET,
    rrn: object = UNSET,
    gender: object = UNSET,
    region: object = UNSET,
    household_size: object = UNSET,
    income_band: object = UNSET,
    employment_status: object = UNSET,
    debt_status: object = UNSET,
    arrears_days: object = UNSET,
) -> Client:
    """Change the given fields only (UNSET leaves a field alone); the same rules as registration."""
    _own(user, client.center_id)
    client = Client.objects.select_for_update().get(pk=client.pk)
    changed: dict[str, Any] = {}
    if name is not UNSET:
        changed["name"] = name_validate(name)
    if birth_date is not UNSET:
        changed["birth_date"] = birth_date_validate(birth_date)
    if phone is not UNSET:
        changed["phone"] = phone_normalize(phone)
    changed.update(
        _facts(
            gender=gender,
            region=region,
            household_size=household_size,
            income_band=income_band,
            employment_status=employment_status,
            debt_status=debt_status,
            arrears_days=arrears_days,
        )
    )
    birth = changed.get("birth_date", client.birth_date)
    if rrn is not UNSET:
        if rrn in (None, ""):
            changed.update(rrn_ciphertext=None, rrn_hash=None, rrn_prefix="")
        else:
            ciphertext, rrn_hash, prefix, _g = _rrn_fields(rrn, birth)
            changed.update(rrn_ciphertext=ciphertext, rrn_hash=rrn_hash, rrn_prefix=prefix)
    elif "birth_date" in changed and client.rrn_prefix and client.rrn_prefix[:6] != birth.strftime("%y%m%d"):
        raise InvalidInput(_("The resident registration number does not match the birth date."), field="birth_date")
    if {"name", "birth_date", "phone", "rrn_hash"} & changed.keys():
        _check_duplicate(
            center_id=client.center_id,
            rrn_hash=changed.get("rrn_hash", client.rrn_hash),
            name=changed.get("name", client.name),
            birth_date=birth,
            phone=changed.get("phone", client.phone),
            exclude=client.pk,
        )
    for key, value in changed.items():
        setattr(client, key, value)
    if changed:
        client.save(update_fields=[*changed.keys(), "updated_at"])
    return client


# --- consent ---------------------------------------------------------------------------------------


def consent_expiry(given_at: dt.datetime) -> dt.datetime:
    """When a consent given at `given_at` lapses: the same day CONSENT_RETENTION_YEARS later (29 Feb → 28 Feb)."""
    if given_at.month == 2 and given_at.day == 29:
        return given_at.replace(year=given_at.year + CONSENT_RETENTION_YEARS, day=28)
    return given_at.replace(year=given_at.year + CONSENT_RETENTION_YEARS)


@transaction.atomic
def consent_record(
    *,
    user: User,
    client: Client,
    purpose: object,
    method: object,
    organization_kinds: object = (),
    given_at: dt.datetime | None = None,
) -> Consent:
    """Record a consent the client gave after hearing the notice (recipients, purpose, items, period, refusal)."""
    _own(user, client.center_id)
    purpose = _choice(purpose, ConsentPurpose.values, field="purpose")
    method = _choice(method, ConsentMethod.values, field="method")
    if isinstance(organization_kinds, str) or not isinstance(organization_kinds, Sequence | set | frozenset):
        raise InvalidInput(_("Select the organization kinds as a list."), field="organization_kinds")
    kinds: list[str] = []
    for kind in organization_kinds:
        if kind not in CenterKind.values:
            raise InvalidInput(_("Select valid organization kinds."), field="organization_kinds")
        if kind not in kinds:
            kinds.append(kind)
    if purpose == ConsentPurpose.REFERRAL and not kinds:
        raise InvalidInput(
            _("Choose at least one kind of organization the client agreed to."), field="organization_kinds"
        )
    if purpose == ConsentPurpose.COLLECTION:
        kinds = []
    given = given_at or timezone.now()
    expires = consent_expiry(given)
    return Consent.objects.create(
        client=client,
        purpose=purpose,
        organization_kinds=kinds,
        method=method,
        given_at=given,
        expires_at=expires,
        recorded_by=user,
    )


@transaction.atomic
def consent_withdraw(*, user: User, consent: Consent) -> Consent:
    """Record when and by whom; receivers of `consent_withdrawn` (referrals) act in the same transaction."""
    client_center = Client.objects.filter(pk=consent.client_id).values_list("center_id", flat=True).first()
    if client_center is None:
        raise NotFound(_("Not found."))
    _own(user, client_center)
    now = timezone.now()
    updated = Consent.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_by=user
    )
    if updated != 1:
        raise InvalidTransition(_("This consent has already been withdrawn."))
    consent.withdrawn_at = now
    consent.withdrawn_by = user  # type: ignore[assignment]
    consent_withdrawn.send(sender=Consent, consent=consent, by=user)
    return consent


# --- cases -----------------------------------------------------------------------------------------


def _needs(needs: object) -> list[Need]:
    if needs is None:
        return []
    if isinstance(needs, str | bytes | dict) or not isinstance(needs, Sequence):
        raise InvalidInput(_("Send the needs as a list."), field="needs")
    if len(needs) > MAX_NEEDS:
        raise InvalidInput(_("Too many needs (at most %(n)d).") % {"n": MAX_NEEDS}, field="needs")
    out: list[Need] = []
    seen: set[str] = set()
    for item in needs:
        if not isinstance(item, dict):
            raise InvalidInput(_("Each need needs a domain and a code."), field="needs")
        code = item.get("code")
        need = NEEDS_BY_CODE.get(code) if isinstance(code, str) else None
        if need is None:
            raise InvalidInput(_("Unknown need code: %(code)s.") % {"code": str(code)[:40]}, field="needs")
        domain = item.get("domain") or need.domain
        if domain not in Domain.values or domain != need.domain:
            raise InvalidInput(_("The need %(code)s belongs to another domain.") % {"code": need.code}, field="needs")
        if need.code in seen:
            raise InvalidInput(_("The need %(code)s is listed twice.") % {"code": need.code}, field="needs")
        seen.add(need.code)
        note = text_validate(item.get("note"), field="needs", max_length=NEED_NOTE_MAX)
        out.append(Need(domain=need.domain, code=need.code, note=note))
    return out


@transaction.atomic
def case_open(
    *,
    user: User,
    client: Client,
    channel: object,
    needs: object = (),
    note: object = "",
    opened_at: dt.datetime | None = None,
) -> Case:
    """Open a case for a client of the caller's center, with its needs; the caller is the counselor."""
    _own(user, client.center_id)
    channel = _choice(channel, Channel.values, field="channel")
    need_rows = _needs(needs)
    note_text = text_validate(note, field="note", max_length=NOTE_MAX)
    case = Case.objects.create(
        client=client,
        center_id=client.center_id,
        counselor=user,
        channel=channel,
        note=note_text,
        opened_at=opened_at or timezone.now(),
    )
    for need in need_rows:
        need.case = case
    Need.objects.bulk_create(need_rows)
    case_opened.send(sender=Case, at=case.opened_at)
    # The case as opened, needs in hand: `case.needs.all()` answers without reading them back.
    prefetched(case, "needs", need_rows)
    return case


@transaction.atomic
def case_note_add(*, user: User, case: Case, text: object) -> CaseNote:
    _own(user, case.center_id)
    body = text_validate(text, field="text", max_length=NOTE_MAX, required=True)
    if Case.objects.filter(pk=case.pk).values_list("status", flat=True).first() != CaseStatus.OPEN:
        raise InvalidTransition(_("Notes can only be added to an open case."))
    return CaseNote.objects.create(case=case, author=user, text=body)


@transaction.atomic
def case_close(*, user: User, case: Case, result: object, note: object = "") -> Case:
    _own(user, case.center_id)
    result = _choice(result, CaseResult.values, field="result")
    body = text_validate(note, field="note", max_length=NOTE_MAX)
    now = timezone.now()
    updated = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
        status=CaseStatus.CLOSED, result=result, closed_at=now, closed_by=user
    )
    if updated != 1:
        raise InvalidTransition(_("This case is already closed."))
    if body:
        CaseNote.objects.create(case=case, author=user, text=body)
    case.status, case.result, case.closed_at, case.closed_by = CaseStatus.CLOSED, result, now, user  # type: ignore[assignment]
    return case


# --- intake: one walk-in, all or nothing -------------------------------------------------------------


@transaction.atomic
def intake_record(
    *,
    user: User,
    client: Client | None,
    client_data: dict[str, Any],
    collection_consent: bool,
    referral_kinds: Sequence[str],
    consent_method: str,
    channel: str,
    needs: Sequence[dict[str, Any]],
    note: str = "",
) -> Case:
    """Register (or update the facts of) the client, record the consents and open the case in one go."""
    if client is None:
        client = client_register(user=user, **client_data)
    else:
        facts = {k: v for k, v in client_data.items() if k not in ("name", "birth_date", "phone", "rrn")}
        client = client_update(user=user, client=client, **facts)
    if not collection_consent:
        raise InvalidInput(
            _("The client must consent to the collection of personal data to be served."), field="collection_consent"
        )
    consent_record(user=user, client=client, purpose=ConsentPurpose.COLLECTION, method=consent_method)
    if referral_kinds:
        consent_record(
            user=user,
            client=client,
            purpose=ConsentPurpose.REFERRAL,
            method=consent_method,
            organization_kinds=list(referral_kinds),
        )
    return case_open(user=user, client=client, channel=channel, needs=list(needs), note=note)


# --- the personal data access log ------------------------------------------------------------------


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def pii_access_log_write(*, user: User, clients: Iterable[Client | int], view: str, ip_address: str | None) -> int:
    """One row per client whose personal data was shown to `user` by `view`; returns the rows written."""
    ids = []
    for c in clients:
        pk = c.pk if isinstance(c, Client) else int(c)
        if pk not in ids:
            ids.append(pk)
    if not ids:
        return 0
    ip = _ip(ip_address)
    PiiAccessLog.objects.bulk_create(
        [PiiAccessLog(user_id=user.pk, client_id=pk, view=view[:100], ip_address=ip) for pk in ids]
    )
    return len(ids)


def pii_access_log_purge(*, now: dt.datetime | None = None) -> int:
    """Delete rows older than the retention period (PII_ACCESS_LOG_RETENTION_DAYS); returns how many."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.PII_ACCESS_LOG_RETENTION_DAYS)
    deleted, _detail = PiiAccessLog.objects.filter(at__lt=cutoff).delete()
    return deleted
