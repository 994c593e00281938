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
from dataclasses import dataclass

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
    ProcessingStop,
)
from cases.selectors import User, pii_actor
from cases.signals import access_log_purged, case_opened, consent_withdrawn
from cases.validation import NOTE_MAX, text_validate
from centers.models import CenterKind
from core.errors import (
    Conflict,
    DomainError,
    DuplicateClient,
    InvalidInput,
    InvalidTransition,
    NotFound,
    PermissionDenied,
    RowError,
)
from core.http import current_address, current_where, first_in_request
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
_DUPLICATE_CHUNK = 1000


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


@dataclass(frozen=True)
class Identity:
    """What makes two registrations the same person at a center: the RRN's blind index, or name + birth + phone."""

    name: str
    birth_date: dt.date
    phone: str
    rrn_hash: str | None = None


def duplicates_find(*, center_id: int, people: Sequence[Identity], exclude: int | None = None) -> list[int | None]:
    """For each person, the center's earliest client that is the same person (same RRN, or same name, birth
    date and phone), or None. Set-based: one query per thousand people, whatever their number."""
    out: list[int | None] = [None] * len(people)
    for start in range(0, len(people), _DUPLICATE_CHUNK):
        chunk = people[start : start + _DUPLICATE_CHUNK]
        hashes = sorted({p.rrn_hash for p in chunk if p.rrn_hash})
        cond = Q(phone__in=sorted({p.phone for p in chunk}))
        if hashes:
            cond |= Q(rrn_hash__in=hashes)
        qs = Client.objects.filter(cond, center_id=center_id)
        if exclude is not None:
            qs = qs.exclude(pk=exclude)
        by_hash: dict[str, int] = {}
        by_identity: dict[tuple[str, dt.date, str], int] = {}
        for pk, name, birth, phone, rrn_hash in qs.order_by("pk").values_list(
            "pk", "name", "birth_date", "phone", "rrn_hash"
        ):
            if rrn_hash:
                by_hash.setdefault(rrn_hash, pk)
            by_identity.setdefault((name, birth, phone), pk)
        for i, p in enumerate(chunk):
            found = [by_identity.get((p.name, p.birth_date, p.phone)), by_hash.get(p.rrn_hash or "")]
            out[start + i] = min((pk for pk in found if pk is not None), default=None)
    return out


def _check_duplicate(
    *, center_id: int, rrn_hash: str | None, name: str, birth_date: dt.date, phone: str, exclude: int | None = None
) -> None:
    person = Identity(name=name, birth_date=birth_date, phone=phone, rrn_hash=rrn_hash)
    existing = duplicates_find(center_id=center_id, people=[person], exclude=exclude)[0]
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


def _client_new(*, center_id: int, user_id: int, facts: ClientFacts) -> Client:
    """The unsaved client a registration makes (single or batch): identity, sealed RRN, routing facts."""
    return Client(
        center_id=center_id,
        created_by_id=user_id,
        name=facts.name,
        birth_date=facts.birth_date,
        phone=facts.phone,
        **(_rrn_columns(facts.rrn) if facts.rrn else {}),
        **facts.situation_fields(),
    )


@transaction.atomic
def client_register(*, user: User, facts: ClientFacts) -> Client:
    """Register a client at the caller's center; DuplicateClient(existing_id=...) if already there."""
    center_id = _center_of(user)
    rrn_hash = rrn_blind_index(facts.rrn) if facts.rrn else None
    _lock_identity(center_id, facts.name, facts.birth_date, facts.phone)
    _check_duplicate(
        center_id=center_id, rrn_hash=rrn_hash, name=facts.name, birth_date=facts.birth_date, phone=facts.phone
    )
    client = _client_new(center_id=center_id, user_id=_user_id(user), facts=facts)
    if rrn_hash is None:
        # The advisory lock serializes the name/birth/phone check; without an RRN no unique key can race.
        client.save()
        access_record_write(user, [client.pk], AccessAction.CREATE)
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
    access_record_write(user, [client.pk], AccessAction.CREATE)
    return client


@transaction.atomic
def clients_register_bulk(*, user: User, people: Sequence[ClientFacts]) -> list[tuple[Client, bool]]:
    """Register many clients at the caller's center at once (a partner batch): for each, (client, created).

    The same rule as client_register: a person already registered (same RRN, or same name, birth date and
    phone) is not registered again; that client is answered instead. The caller holds
    registrations_exclusive for the center, so no walk-in can register the same person meanwhile; the
    people given are distinct (the batch's check refuses a person listed twice).
    """
    center_id = _center_of(user)
    if connection.vendor == "postgresql" and center_id not in _EXCLUSIVE_CENTERS.get():
        raise RuntimeError("clients_register_bulk needs registrations_exclusive for the center")
    user_id = _user_id(user)
    keys = [
        Identity(
            name=f.name, birth_date=f.birth_date, phone=f.phone, rrn_hash=rrn_blind_index(f.rrn) if f.rrn else None
        )
        for f in people
    ]
    existing = duplicates_find(center_id=center_id, people=keys)
    known = Client.objects.in_bulk([pk for pk in existing if pk is not None])
    fresh = [
        _client_new(center_id=center_id, user_id=user_id, facts=f)
        for f, pk in zip(people, existing, strict=True)
        if pk is None
    ]
    Client.objects.bulk_create(fresh, batch_size=_DUPLICATE_CHUNK)
    made = iter(fresh)
    return [(known[pk], False) if pk is not None else (next(made), True) for pk in existing]


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
        access_record_write(user, [client.pk], AccessAction.UPDATE)
    return client


# --- consent ---------------------------------------------------------------------------------------


def consent_expiry(given_at: dt.datetime) -> dt.datetime:
    """When a consent given at `given_at` lapses: the same day CONSENT_RETENTION_YEARS later (29 Feb → 28 Feb)."""
    if given_at.month == 2 and given_at.day == 29:
        return given_at.replace(year=given_at.year + CONSENT_RETENTION_YEARS, day=28)
    return given_at.replace(year=given_at.year + CONSENT_RETENTION_YEARS)


def consent_new(
    *,
    user: User,
    client: Client,
    purpose: object,
    method: object,
    organization_kinds: object = (),
    given_at: dt.datetime | None = None,
) -> Consent:
    """The unsaved consent, every rule checked (consent_record saves one; a partner batch saves many at once)."""
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
    return Consent(
        client=client,
        purpose=purpose,
        organization_kinds=kinds,
        method=method,
        given_at=given,
        expires_at=expires,
        recorded_by_id=_user_id(user),
    )


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
    consent = consent_new(
        user=user,
        client=client,
        purpose=purpose,
        method=method,
        organization_kinds=organization_kinds,
        given_at=given_at,
    )
    consent.save(force_insert=True)
    if consent.purpose == ConsentPurpose.COLLECTION:
        _collection_consent_given([client])
    access_record_write(user, [client.pk], AccessAction.CREATE)
    return consent


@dataclass(frozen=True)
class ConsentRequest:
    """One consent of a bulk record (consents_record_bulk), as consent_record takes it."""

    client: Client
    purpose: str
    method: str
    organization_kinds: Sequence[str] = ()
    given_at: dt.datetime | None = None


@transaction.atomic
def consents_record_bulk(*, user: User, items: Sequence[ConsentRequest]) -> list[Consent]:
    """consent_record for many at once (a partner batch): every rule per item, one insert per thousand.
    RowError names the item refused (its index), and nothing is recorded."""
    made: list[Consent] = []
    for i, item in enumerate(items):
        try:
            made.append(
                consent_new(
                    user=user,
                    client=item.client,
                    purpose=item.purpose,
                    method=item.method,
                    organization_kinds=list(item.organization_kinds),
                    given_at=item.given_at,
                )
            )
        except DomainError as exc:
            raise RowError(i, exc) from exc
    Consent.objects.bulk_create(made, batch_size=_DUPLICATE_CHUNK)
    _collection_consent_given([c.client for c in made if c.purpose == ConsentPurpose.COLLECTION])
    return made


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
    if consent.purpose == ConsentPurpose.COLLECTION:
        _collection_consent_withdrawn(consent)
    consent_withdrawn.send(sender=Consent, consent=consent, by=user)
    access_record_write(user, [consent.client_id], AccessAction.UPDATE)
    return consent


# --- processing stopped: collection consent withdrawn, or the client's records destroyed -------------


class ProcessingStopped(Conflict):
    """Act §37: once the collection consent is withdrawn nothing new is done with the client's data."""

    code = "processing_stopped"


class ProcessingSuspended(ProcessingStopped):
    """Act §37①: the person asked the center to stop processing their data (privacy.requests)."""

    code = "processing_suspended"


def client_processing_check(client: Client) -> None:
    """Raise ProcessingStopped when nothing new may be done for the client: their latest collection consent
    is withdrawn (a new consent at intake lifts it), they asked to stop the processing, or their records were
    destroyed. Read off the client row the caller already holds (Client.processing_stopped): no query."""
    stop = client.processing_stopped
    if stop == ProcessingStop.DESTROYED or client.name == DESTROYED_NAME:
        raise ProcessingStopped(_("This client's records were destroyed; register the person again to serve them."))
    if stop == ProcessingStop.WITHDRAWN:
        raise ProcessingStopped(
            _("The client withdrew the consent to the collection of personal data: nothing new can be done for them.")
        )
    if stop == ProcessingStop.SUSPENDED:
        raise ProcessingSuspended(
            _("The client asked to stop the processing of their personal data: nothing new can be done for them.")
        )


def _collection_consent_given(clients: Sequence[Client]) -> None:
    """A new collection consent lifts a withdrawal (not a suspension or a destruction), in the rows and in hand."""
    ids = [c.pk for c in clients if c.processing_stopped == ProcessingStop.WITHDRAWN]
    if ids:
        Client.objects.filter(pk__in=ids, processing_stopped=ProcessingStop.WITHDRAWN).update(
            processing_stopped=ProcessingStop.NONE
        )
        for c in clients:
            if c.pk in ids:
                c.processing_stopped = ProcessingStop.NONE


def _collection_consent_withdrawn(consent: Consent) -> None:
    """Stop the client when the withdrawn consent leaves no standing collection consent (the latest counts)."""
    latest = (
        Consent.objects.filter(client_id=consent.client_id, purpose=ConsentPurpose.COLLECTION)
        .order_by("-given_at", "-pk")
        .values_list("withdrawn_at", flat=True)
        .first()
    )
    if latest is not None:
        stopped = Client.objects.filter(pk=consent.client_id, processing_stopped=ProcessingStop.NONE).update(
            processing_stopped=ProcessingStop.WITHDRAWN
        )
        if stopped and Consent.client.is_cached(consent):  # the caller's client object tells the truth too
            consent.client.processing_stopped = ProcessingStop.WITHDRAWN


# --- cases -----------------------------------------------------------------------------------------


def _case_new(*, user: User, client: Client, opening: CaseOpening, opened_at: dt.datetime) -> Case:
    _require_own_center(user, client.center_id)
    client_processing_check(client)
    return Case(
        client=client,
        center_id=client.center_id,
        counselor_id=_user_id(user),
        channel=opening.channel,
        note=opening.note,
        opened_at=opened_at,
    )


def _needs_of(case: Case, opening: CaseOpening) -> list[Need]:
    return [Need(case=case, domain=n.domain, code=n.code, note=n.note) for n in opening.needs]


@transaction.atomic
def case_open(*, user: User, client: Client, opening: CaseOpening, opened_at: dt.datetime | None = None) -> Case:
    """Open a case for a client of the caller's center, with its needs; the caller is the counselor."""
    case = _case_new(user=user, client=client, opening=opening, opened_at=opened_at or timezone.now())
    case.save(force_insert=True)
    need_rows = _needs_of(case, opening)
    Need.objects.bulk_create(need_rows)
    case_opened.send(sender=Case, at=case.opened_at, clients=[client.pk])
    access_record_write(user, [client.pk], AccessAction.CREATE)
    # The case as opened, needs in hand: `case.needs.all()` answers without reading them back.
    prefetched(case, "needs", need_rows)
    return case


@transaction.atomic
def cases_open_bulk(
    *, user: User, openings: Sequence[tuple[Client, CaseOpening]], opened_at: dt.datetime | None = None
) -> list[Case]:
    """case_open for many clients at once (a partner batch): the same rules, a few statements in all."""
    at = opened_at or timezone.now()
    cases = [_case_new(user=user, client=client, opening=opening, opened_at=at) for client, opening in openings]
    Case.objects.bulk_create(cases, batch_size=_DUPLICATE_CHUNK)
    need_rows: list[Need] = []
    for case, (_client, opening) in zip(cases, openings, strict=True):
        needs = _needs_of(case, opening)
        prefetched(case, "needs", needs)
        need_rows.extend(needs)
    Need.objects.bulk_create(need_rows, batch_size=_DUPLICATE_CHUNK)
    if cases:
        case_opened.send(sender=Case, at=at, clients=[case.client_id for case in cases])
    return cases


@transaction.atomic
def case_note_add(*, user: User, case: Case, text: object) -> CaseNote:
    _require_own_center(user, case.center_id)
    body = text_validate(text, field="text", max_length=NOTE_MAX, required=True)
    if Case.objects.filter(pk=case.pk).values_list("status", flat=True).first() != CaseStatus.OPEN:
        raise InvalidTransition(_("Notes can only be added to an open case."))
    note = CaseNote.objects.create(case=case, author_id=_user_id(user), text=body)
    access_record_write(user, [case.client_id], AccessAction.CREATE)
    return note


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
    access_record_write(user, [case.client_id], AccessAction.UPDATE)
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
    """One chained row per client whose personal data `user` read, wrote, printed or downloaded through `view`.

    Records, never decides: the caller has already checked that `user` may do what is recorded (a center's
    staff reading a client, the privacy officer downloading the ledgers)."""
    ids = []
    for c in clients:
        pk = c.pk if isinstance(c, Client) else int(c)
        if pk not in ids:
            ids.append(pk)
    if not ids:
        return 0
    if action not in AccessAction.values:
        raise ValueError(f"unknown access action {action!r}")
    if not getattr(user, "is_authenticated", False) or user.pk is None:
        raise PermissionDenied(_("Log in first."))
    ip = _ip(ip_address)
    entries = [
        access_log.Entry(
            user_id=int(user.pk), client_id=pk, action=action, view=view[:100], ip_address=ip, reason=reason[:500]
        )
        for pk in ids
    ]
    return access_log.append(entries, at=timezone.now())


def access_record_write(user: User, client_ids: Iterable[int], action: str) -> None:
    """The access record of a write (safeguard notice §8①: 입력·변경), with the request's screen and address
    (core.http); once per client, action and screen in a request (an intake's client, consents and case
    are one entry). Outside a request (a command, the demo seeding) the screen is "service"."""
    where = current_where() or "service"
    ids = [pk for pk in dict.fromkeys(client_ids) if first_in_request(pk, action, where)]
    if ids:
        pii_access_log_write(user=user, clients=ids, view=where, ip_address=current_address(), action=action)


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
