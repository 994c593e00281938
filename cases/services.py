"""State changes for clients, consents and cases. Keyword-only, one transaction each, domain errors only.

No message raised here ever contains an RRN: errors name the field, never echo the value.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import ipaddress
from collections.abc import Iterable, Iterator, Sequence

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import access_log
from cases.crypto import rrn_birth_prefix, rrn_blind_index, rrn_encrypt
from cases.inputs import CaseOpening, ClientFacts, ClientSituation, choice_parse
from cases.models import (
    DESTROYED_NAME,
    AccessAction,
    Case,
    CaseNote,
    CaseResult,
    CaseStatus,
    Client,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    Need,
    PiiAccessLog,
)
from cases.selectors import User, pii_actor
from cases.signals import access_log_purged, case_opened, consent_withdrawn
from cases.validation import NOTE_MAX, text_validate
from centers.models import CenterKind
from core.errors import Conflict, DuplicateClient, InvalidInput, InvalidTransition, NotFound
from core.orm import prefetched

# How long a consent holds unless withdrawn; the notice on the intake page states the same period.
CONSENT_RETENTION_YEARS = 3


# --- helpers ---------------------------------------------------------------------------------------


def _center_of(user: User) -> int:
    center_id = pii_actor(user).center_id
    assert center_id is not None  # pii_actor guarantees center staff  # noqa: S101
    return center_id


def _require_own_center(user: User, center_id: int) -> None:
    """Raise NotFound unless the row is of the caller's center: another center's row does not exist for them."""
    if _center_of(user) != center_id:
        raise NotFound(_("Not found."))


def _user_id(user: User) -> int:
    user_id = pii_actor(user).user_id
    assert user_id is not None  # pii_actor guarantees a logged-in user  # noqa: S101
    return user_id


# Centers whose registrations this context holds exclusively (registrations_exclusive); per-person locks are
# then redundant, and a 10,000-row batch taking one each would exhaust PostgreSQL's lock table (64 per
# connection by default: "out of shared memory").
_EXCLUSIVE_CENTERS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar("exclusive", default=frozenset())
_REGISTRATIONS_LOCK_SPACE = 0x59450000  # "YE" and a zero: the center's id is added to it


def _lock_identity(center_id: int, name: str, birth_date: dt.date, phone: str) -> None:
    """Serialize registrations of the same person in PostgreSQL (SQLite already serializes writers).

    Locking rule: every registration holds its center's registration lock shared, then the person's lock;
    a batch import holds the center's lock exclusively instead, for its whole transaction.
    """
    if connection.vendor != "postgresql" or center_id in _EXCLUSIVE_CENTERS.get():
        return
    key = f"client:{center_id}:{name}:{birth_date.isoformat()}:{phone}".encode()
    lock_id = int.from_bytes(hashlib.sha256(key).digest()[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [_REGISTRATIONS_LOCK_SPACE + center_id])
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id])


@contextlib.contextmanager
def registrations_exclusive(*, center_id: int) -> Iterator[None]:
    """Inside a transaction: no one else registers a client at this center until it ends (batch imports).

    Walk-in registrations at that center wait for the batch's commit (seconds for thousands of rows).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("registrations_exclusive needs a transaction")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_REGISTRATIONS_LOCK_SPACE + center_id])
    token = _EXCLUSIVE_CENTERS.set(_EXCLUSIVE_CENTERS.get() | {center_id})
    try:
        yield
    finally:
        _EXCLUSIVE_CENTERS.reset(token)


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


def _rrn_columns(digits: str) -> dict[str, bytes | str]:
    """The stored forms of an RRN (13 digits already checked by cases.inputs): ciphertext, blind index, prefix."""
    return {
        "rrn_ciphertext": rrn_encrypt(digits),
        "rrn_hash": rrn_blind_index(digits),
        "rrn_prefix": rrn_birth_prefix(digits),
    }


# --- clients ---------------------------------------------------------------------------------------


@transaction.atomic
def client_register(*, user: User, facts: ClientFacts) -> Client:
    """Register a client at the caller's center; DuplicateClient(existing_id=...) if already there."""
    center_id = _center_of(user)
    rrn_hash = rrn_blind_index(facts.rrn) if facts.rrn else None
    _lock_identity(center_id, facts.name, facts.birth_date, facts.phone)
    _check_duplicate(
        center_id=center_id, rrn_hash=rrn_hash, name=facts.name, birth_date=facts.birth_date, phone=facts.phone
    )
    client = Client(
        center_id=center_id,
        created_by_id=_user_id(user),
        name=facts.name,
        birth_date=facts.birth_date,
        phone=facts.phone,
        **(_rrn_columns(facts.rrn) if facts.rrn else {}),
        **facts.situation_fields(),
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
        _check_duplicate(
            center_id=center_id, rrn_hash=rrn_hash, name=facts.name, birth_date=facts.birth_date, phone=facts.phone
        )
        raise
    return client


@transaction.atomic
def client_update(*, user: User, client: Client, facts: ClientSituation) -> Client:
    """Replace the client's routing facts; given a whole ClientFacts, its identity too.

    An RRN is never cleared by omission: a ClientFacts without one keeps the stored RRN, whose birth
    digits must then still match the birth date.
    """
    _require_own_center(user, client.center_id)
    client = Client.objects.select_for_update().get(pk=client.pk)
    changed = facts.situation_fields()
    if isinstance(facts, ClientFacts):
        changed.update(name=facts.name, birth_date=facts.birth_date, phone=facts.phone)
        if facts.rrn:
            changed.update(_rrn_columns(facts.rrn))
        elif client.rrn_prefix and client.rrn_prefix[:6] != facts.birth_date.strftime("%y%m%d"):
            raise InvalidInput(_("The resident registration number does not match the birth date."), field="birth_date")
        _check_duplicate(
            center_id=client.center_id,
            rrn_hash=rrn_blind_index(facts.rrn) if facts.rrn else client.rrn_hash,
            name=facts.name,
            birth_date=facts.birth_date,
            phone=facts.phone,
            exclude=client.pk,
        )
    changed = {key: value for key, value in changed.items() if getattr(client, key) != value}
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
    _require_own_center(user, client.center_id)
    purpose = choice_parse(purpose, ConsentPurpose.values, field="purpose")
    method = choice_parse(method, ConsentMethod.values, field="method")
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
        recorded_by_id=_user_id(user),
    )


@transaction.atomic
def consent_withdraw(*, user: User, consent: Consent) -> Consent:
    """Record when and by whom; receivers of `consent_withdrawn` (referrals) act in the same transaction."""
    client_center = Client.objects.filter(pk=consent.client_id).values_list("center_id", flat=True).first()
    if client_center is None:
        raise NotFound(_("Not found."))
    _require_own_center(user, client_center)
    now = timezone.now()
    updated = Consent.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
        withdrawn_at=now, withdrawn_by_id=_user_id(user)
    )
    if updated != 1:
        raise InvalidTransition(_("This consent has already been withdrawn."))
    consent.withdrawn_at = now
    consent.withdrawn_by_id = _user_id(user)
    consent_withdrawn.send(sender=Consent, consent=consent, by=user)
    return consent


# --- processing stopped: collection consent withdrawn, or the client's records destroyed -------------


class ProcessingStopped(Conflict):
    """Act §37: once the collection consent is withdrawn nothing new is done with the client's data."""

    code = "processing_stopped"


def client_processing_check(client: Client | int) -> None:
    """Raise ProcessingStopped when the client's latest collection consent is withdrawn (a new consent at
    intake lifts it) or their records were destroyed. Clients without a collection consent on record
    (registered before consents were recorded) are not stopped."""
    pk = client.pk if isinstance(client, Client) else int(client)
    name = (
        client.name
        if isinstance(client, Client)
        else Client.objects.filter(pk=pk).values_list("name", flat=True).first()
    )
    if name == DESTROYED_NAME:
        raise ProcessingStopped(_("This client's records were destroyed; register the person again to serve them."))
    latest = (
        Consent.objects.filter(client_id=pk, purpose=ConsentPurpose.COLLECTION)
        .order_by("-given_at", "-pk")
        .values_list("withdrawn_at", flat=True)
        .first()
    )
    if latest is not None:
        raise ProcessingStopped(
            _("The client withdrew the consent to the collection of personal data: nothing new can be done for them.")
        )


# --- cases -----------------------------------------------------------------------------------------


@transaction.atomic
def case_open(*, user: User, client: Client, opening: CaseOpening, opened_at: dt.datetime | None = None) -> Case:
    """Open a case for a client of the caller's center, with its needs; the caller is the counselor."""
    _require_own_center(user, client.center_id)
    client_processing_check(client)
    case = Case.objects.create(
        client=client,
        center_id=client.center_id,
        counselor_id=_user_id(user),
        channel=opening.channel,
        note=opening.note,
        opened_at=opened_at or timezone.now(),
    )
    need_rows = [Need(case=case, domain=n.domain, code=n.code, note=n.note) for n in opening.needs]
    Need.objects.bulk_create(need_rows)
    case_opened.send(sender=Case, at=case.opened_at)
    # The case as opened, needs in hand: `case.needs.all()` answers without reading them back.
    prefetched(case, "needs", need_rows)
    return case


@transaction.atomic
def case_note_add(*, user: User, case: Case, text: object) -> CaseNote:
    _require_own_center(user, case.center_id)
    body = text_validate(text, field="text", max_length=NOTE_MAX, required=True)
    if Case.objects.filter(pk=case.pk).values_list("status", flat=True).first() != CaseStatus.OPEN:
        raise InvalidTransition(_("Notes can only be added to an open case."))
    return CaseNote.objects.create(case=case, author_id=_user_id(user), text=body)


@transaction.atomic
def case_close(*, user: User, case: Case, result: object, note: object = "") -> Case:
    _require_own_center(user, case.center_id)
    result = choice_parse(result, CaseResult.values, field="result")
    body = text_validate(note, field="note", max_length=NOTE_MAX)
    now = timezone.now()
    updated = Case.objects.filter(pk=case.pk, status=CaseStatus.OPEN).update(
        status=CaseStatus.CLOSED, result=result, closed_at=now, closed_by_id=_user_id(user)
    )
    if updated != 1:
        raise InvalidTransition(_("This case is already closed."))
    if body:
        CaseNote.objects.create(case=case, author_id=_user_id(user), text=body)
    case.status, case.result, case.closed_at = CaseStatus.CLOSED, result, now
    case.closed_by_id = _user_id(user)
    return case


# --- intake: one walk-in, all or nothing -------------------------------------------------------------


@transaction.atomic
def intake_record(
    *,
    user: User,
    client: Client | None,
    facts: ClientSituation,
    collection_consent: bool,
    referral_kinds: Sequence[str],
    consent_method: str,
    opening: CaseOpening,
) -> Case:
    """Register the client (or update the routing facts of one already registered), record the consents and
    open the case in one go. A new client needs a whole ClientFacts; an existing one keeps its identity."""
    if client is None:
        if not isinstance(facts, ClientFacts):
            raise InvalidInput(_("This field is required."), field="name")
        client = client_register(user=user, facts=facts)
    else:
        client = client_update(user=user, client=client, facts=ClientSituation(**facts.situation_fields()))
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
    return case_open(user=user, client=client, opening=opening)


# --- the personal data access log ------------------------------------------------------------------


def _ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def pii_access_log_write(
    *,
    user: User,
    clients: Iterable[Client | int],
    view: str,
    ip_address: str | None,
    action: str = AccessAction.READ,
    reason: str = "",
) -> int:
    """One chained row per client whose personal data `user` read, wrote, printed or downloaded through `view`."""
    ids = []
    for c in clients:
        pk = c.pk if isinstance(c, Client) else int(c)
        if pk not in ids:
            ids.append(pk)
    if not ids:
        return 0
    if action not in AccessAction.values:
        raise ValueError(f"unknown access action {action!r}")
    ip = _ip(ip_address)
    entries = [
        access_log.Entry(
            user_id=_user_id(user), client_id=pk, action=action, view=view[:100], ip_address=ip, reason=reason[:500]
        )
        for pk in ids
    ]
    return access_log.append(entries, at=timezone.now())


def pii_access_log_purge(*, now: dt.datetime | None = None) -> int:
    """Delete rows older than the retention period (PII_ACCESS_LOG_RETENTION_DAYS); returns how many."""
    days = settings.PII_ACCESS_LOG_RETENTION_DAYS
    if days < settings.PII_ACCESS_LOG_MIN_RETENTION_DAYS:
        raise ImproperlyConfigured(
            f"PII_ACCESS_LOG_RETENTION_DAYS={days} is below the {settings.PII_ACCESS_LOG_MIN_RETENTION_DAYS} days "
            "the safeguard notice asks for; nothing was purged."
        )
    cutoff = (now or timezone.now()) - dt.timedelta(days=days)
    with transaction.atomic():
        deleted = access_log.purge_before(cutoff)
        if deleted:
            access_log_purged.send(sender=PiiAccessLog, rows=deleted, before=cutoff)
    return deleted
