"""Synthetic national histories over the real directory, for benchmarks and load tests.

`generate_synthetic(spec)` writes clients (RRNs sealed with cases/crypto.py), their consents,
cases and needs, and referrals that went through the lifecycle with coherent timestamps and one
ReferralEvent per transition. The rows follow the product's own rules, imported rather than
restated: routing decisions and their "why this desk" data from referral/routing.py, due times
from referral/sla.py (SlaPolicy rows included), statuses, event kinds and reasons from
referral/models.py, consent expiry from cases.services.consent_expiry, need codes from
cases/needs.py; demo/tests/test_synthetic_rules.py recomputes them from the written rows. Rows are built in pure Python in batches of about `spec.batch`
referrals, directly as COPY text lines, and written with COPY on PostgreSQL (bulk_create
elsewhere, from the same lines). On PostgreSQL a builder thread makes batch k+1 while the
calling thread, the only one that touches the database, writes batch k.

Everything is drawn from one `random.Random(seed)`: the same seed, `now` and starting database
give the same rows. The one exception is the RRN ciphertext, whose AES-GCM nonce comes from
os.urandom inside `rrn_encrypt` (a deterministic nonce would be a real weakness to copy into
production code); the decrypted RRNs and their blind indexes are identical.

Ids are taken in blocks from the tables' own sequences, so the sequences stay correct and a
concurrent writer cannot collide with a batch. Each batch is one transaction with every
constraint checked; nothing is disabled or deferred past its commit.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import math
import operator
import queue
import random
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connections, models, transaction

from cases.crypto import rrn_birth_prefix, rrn_blind_index, rrn_encrypt
from cases.models import (
    CaseResult,
    CaseStatus,
    Channel,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    DebtStatus,
    EmploymentStatus,
    Gender,
    IncomeBand,
)
from cases.needs import NEEDS
from cases.services import consent_expiry
from centers.models import Center, CenterKind, Desk, Region, Role, Service, ServiceOutcome, StaffProfile
from referral import routing, sla
from referral.models import CancelReason, DeclineReason, EventKind, FailReason, Priority, RejectReason, Status

if TYPE_CHECKING:
    from _typeshed import SupportsLenAndGetItem

_T = TypeVar("_T")


class _Random(random.Random):
    """random.Random whose randint, randrange and choice take one call instead of three.

    Each draws exactly what the base class draws (getrandbits(k) until below n, as in
    `Random._randbelow_with_getrandbits`), so a seed gives the same stream and the same rows.
    """

    def _below(self, n: int) -> int:
        k = n.bit_length()
        r = self.getrandbits(k)
        while r >= n:
            r = self.getrandbits(k)
        return r

    def randint(self, a: int, b: int) -> int:
        n = b - a + 1
        k = n.bit_length()
        r = self.getrandbits(k)
        while r >= n:
            r = self.getrandbits(k)
        return a + r

    def randrange(self, start: int, stop: int | None = None, step: int = 1) -> int:
        if step != 1 or start < 0 or (stop is not None and stop <= start) or (stop is None and start <= 0):
            return super().randrange(start, stop, step)
        if stop is None:
            return self._below(start)
        return start + self._below(stop - start)

    def choice(self, seq: SupportsLenAndGetItem[_T]) -> _T:
        n = len(seq)
        if not n:
            return super().choice(seq)
        k = n.bit_length()
        r = self.getrandbits(k)
        while r >= n:
            r = self.getrandbits(k)
        return seq[r]


def _pick(rng: random.Random, population: Sequence[Any], cum: Sequence[float]) -> Any:
    """random.choices for one item with precomputed cumulative weights, without its overhead."""
    return population[bisect.bisect(cum, rng.random() * cum[-1])]


def _cum(weights: Sequence[float]) -> tuple[float, ...]:
    return tuple(itertools.accumulate(weights))


SEOUL = sla.SEOUL
UTC = dt.UTC
DAY = 86400.0
OFFICE_OPEN = 9 * 3600.0
OFFICE_HOURS = 9 * 3600.0
STAFF_PREFIX = "syn_"
COUNSELORS_PER_CENTER = 3

# The lifecycle's words (referral/models.py), as plain strings for the COPY lines.
REQUESTED, ACCEPTED, REJECTED, CANCELLED = (
    Status.REQUESTED.value,
    Status.ACCEPTED.value,
    Status.REJECTED.value,
    Status.CANCELLED.value,
)
IN_PROGRESS, ON_HOLD, FAILED, COMPLETED = (
    Status.IN_PROGRESS.value,
    Status.ON_HOLD.value,
    Status.FAILED.value,
    Status.COMPLETED.value,
)
OPEN = frozenset({REQUESTED, ACCEPTED, IN_PROGRESS, ON_HOLD})
E = EventKind
CASE_OPEN, CASE_CLOSED = CaseStatus.OPEN.value, CaseStatus.CLOSED.value
COLLECTION, REFERRAL = ConsentPurpose.COLLECTION.value, ConsentPurpose.REFERRAL.value
NOTICE_VERSION = str(Consent._meta.get_field("notice_version").default)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
# referral_timeout's reason for a desk that let the accept deadline pass (referral/services.py).
ACCEPT_OVERDUE = "accept_overdue"

# Which domain a center of each kind refers to: the program's links are mostly
# finance → employment and finance → welfare (../shared/data/README.md).
DOMAIN_WEIGHTS: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    CenterKind.MICROFINANCE: (("employment", "welfare", "finance"), _cum((0.6, 0.3, 0.1))),
    CenterKind.CREDIT_RECOVERY: (("employment", "welfare", "finance"), _cum((0.55, 0.35, 0.1))),
    CenterKind.EMPLOYMENT_WELFARE: (("finance", "welfare", "employment"), _cum((0.45, 0.35, 0.2))),
    CenterKind.LOCAL_GOVERNMENT: (("employment", "finance", "welfare"), _cum((0.55, 0.35, 0.1))),
    CenterKind.MIDLIFE_CAREER: (("finance", "welfare", "employment"), _cum((0.45, 0.45, 0.1))),
}
SERVICE_WEIGHTS = {
    "job_placement": 0.4,
    "kesp": 0.35,
    "vocational_training": 0.2,
    "unemployment_benefit": 0.05,
    "basic_livelihood": 0.45,
    "emergency_welfare": 0.3,
    "self_sufficiency": 0.25,
    "policy_microloan": 0.35,
    "credit_counseling": 0.3,
    "debt_adjustment": 0.25,
    "rehab_bankruptcy": 0.1,
}
CENTER_WEIGHT: dict[str, float] = {
    CenterKind.EMPLOYMENT_WELFARE: 3.0,
    CenterKind.MICROFINANCE: 3.0,
    CenterKind.LOCAL_GOVERNMENT: 1.5,
    CenterKind.MIDLIFE_CAREER: 1.0,
    CenterKind.CREDIT_RECOVERY: 1.0,
}
# Every client consents to provision to the kinds that run the desks of all three domains; some
# also to the one-off operators (a middle-aged career center, the credit recovery service). Routing
# only considers desks whose operator kind the consent covers, as referral_route does.
BASE_CONSENT_KINDS = (
    CenterKind.EMPLOYMENT_WELFARE.value,
    CenterKind.LOCAL_GOVERNMENT.value,
    CenterKind.MICROFINANCE.value,
)
EXTRA_CONSENT_KINDS = ((CenterKind.MIDLIFE_CAREER.value, 0.3), (CenterKind.CREDIT_RECOVERY.value, 0.3))

SURNAMES = "김이박최정강조윤장임한오서신권황안송류전홍고문양손배백허유남심노하곽성차주우구민진나지엄채원천방공현함변염여추도소석선설마길연위표명기반왕금옥육인맹제모탁국어은편용"
SURNAME_W = [21.5, 14.7, 8.4, 4.7, 4.3, 2.3, 2.1, 2.1, 2.0, 2.0] + [1.0] * 20 + [0.3] * (len(SURNAMES) - 30)
GIVEN = "민서준지현우예도하윤수영진은재성유연아주혜원경동승태정희석채호소다인시한나빈상용혁"

_CW_CASE_SIZE = _cum((0.55, 0.3, 0.15))
_CW_SURNAME = _cum(SURNAME_W)
_CW_DECLINE_DAYS = _cum((0.5, 0.35, 0.15))
_CW_ACCEPT_DAYS = _cum((0.55, 0.33, 0.12))
_CW_START_DAYS = _cum((0.3, 0.35, 0.25, 0.1))
_CW_HOUSEHOLD = _cum((0.35, 0.25, 0.2, 0.15, 0.05))
_CW_DEBT = _cum((0.35, 0.25, 0.3, 0.1))
_INCOME = tuple(IncomeBand.values)
_CW_INCOME = _cum((0.25, 0.3, 0.15, 0.2, 0.05, 0.05))
_EMPLOYMENT = tuple(EmploymentStatus.values)
_CW_EMPLOYMENT = _cum((0.45, 0.25, 0.1, 0.08, 0.07, 0.05))
_DECLINE = tuple(DeclineReason.values)
_CW_DECLINE = _cum((0.3, 0.25, 0.15, 0.15, 0.05, 0.1))
_FAIL = tuple(FailReason.values)
_CW_FAIL = _cum((0.25, 0.2, 0.15, 0.2, 0.15, 0.05))
_CHANNELS = tuple(Channel.values)
_CW_CHANNEL_OWN = _cum((0.6, 0.12, 0.08, 0.1, 0.1))
_CW_CHANNEL_PARTNER = _cum((0.3, 0.15, 0.05, 0.1, 0.4))
_DEBT = (DebtStatus.ARREARS.value, DebtStatus.REPAYING.value, DebtStatus.NONE.value, DebtStatus.UNKNOWN.value)
# Weights above are positional: a vocabulary that grows or shrinks must get its weights changed too.
for _values, _weights in (
    (_INCOME, _CW_INCOME),
    (_EMPLOYMENT, _CW_EMPLOYMENT),
    (_DECLINE, _CW_DECLINE),
    (_FAIL, _CW_FAIL),
    (_CHANNELS, _CW_CHANNEL_OWN),
    (_CHANNELS, _CW_CHANNEL_PARTNER),
    (_DEBT, _CW_DEBT),
):
    if len(_values) != len(_weights):
        raise ImportError(f"demo.synthetic: weights for {_values} need updating")
_CANCEL_EARLY = (
    CancelReason.CLIENT_REQUEST.value,
    CancelReason.SENT_IN_ERROR.value,
    CancelReason.DUPLICATE.value,
    CancelReason.OTHER.value,
)
_CANCEL_ACCEPTED = (CancelReason.CLIENT_REQUEST.value, CancelReason.DUPLICATE.value, CancelReason.OTHER.value)
_CANCEL_LATE = (CancelReason.CLIENT_REQUEST.value, CancelReason.OTHER.value)
_FAIL_EARLY = (FailReason.UNABLE_TO_CONTACT.value, FailReason.NO_SHOW.value, FailReason.CLIENT_REFUSED.value)

# The intake need (cases/needs.py) recorded for a referral to a service: the first need the
# catalog maps to that service (basic_livelihood ← livelihood, not housing or medical). A service
# without one stops the generator (see _Directory) rather than inventing a code.
NEED_FOR_SERVICE: dict[str, str] = {n.service: n.code for n in reversed(NEEDS)}

CLIENT_COLUMNS = (
    "id",
    "center_id",
    "name",
    "birth_date",
    "phone",
    "rrn_ciphertext",
    "rrn_hash",
    "rrn_prefix",
    "gender",
    "region_id",
    "household_size",
    "income_band",
    "employment_status",
    "debt_status",
    "arrears_days",
    "created_by_id",
    "created_at",
    "updated_at",
    "processing_stopped",
)
CONSENT_COLUMNS = (
    "id",
    "client_id",
    "purpose",
    "organization_kinds",
    "method",
    "notice_version",
    "given_at",
    "recorded_by_id",
    "expires_at",
    "withdrawn_at",
    "withdrawn_by_id",
)
CASE_COLUMNS = (
    "id",
    "client_id",
    "center_id",
    "counselor_id",
    "channel",
    "status",
    "note",
    "opened_at",
    "closed_at",
    "closed_by_id",
    "result",
)
NEED_COLUMNS = ("id", "case_id", "domain", "code", "note")
REFERRAL_COLUMNS = (
    "id",
    "case_id",
    "client_id",
    "service_id",
    "consent_id",
    "priority",
    "status",
    "status_before_hold",
    "from_center_id",
    "from_desk_id",
    "to_desk_id",
    "to_center_id",
    "assigned_to_id",
    "created_by_id",
    "note",
    "created_at",
    "routed_at",
    "accepted_at",
    "started_at",
    "closed_at",
    "updated_at",
    "accept_due_at",
    "contact_due_at",
    "close_due_at",
    "escalated_step",
    "outcome",
    "achieved",
    "outcome_detail",
    "reason",
    "route_attempts",
    "colocated",
)
EVENT_COLUMNS = (
    "id",
    "referral_id",
    "at",
    "by_id",
    "kind",
    "from_status",
    "to_status",
    "desk_id",
    "reason",
    "note",
    "data",
)

TABLES = (
    ("cases_client", CLIENT_COLUMNS),
    ("cases_consent", CONSENT_COLUMNS),
    ("cases_case", CASE_COLUMNS),
    ("cases_need", NEED_COLUMNS),
    ("referral_referral", REFERRAL_COLUMNS),
    ("referral_referralevent", EVENT_COLUMNS),
)


@dataclass(frozen=True)
class Spec:
    clients: int
    referrals: int
    months: int = 12
    seed: int = 1
    batch: int = 20_000
    now: dt.datetime | None = None


@dataclass
class Result:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    encrypt_seconds: float = 0.0
    copy_seconds: float = 0.0

    @property
    def referrals_per_second(self) -> float:
        return self.counts.get("referrals", 0) / self.seconds if self.seconds else 0.0


# --- Calendar: referral/sla.py's business days (Asia/Seoul, Korean public holidays), as day numbers. ---


class _Calendar:
    def __init__(self, start: dt.date, end: dt.date) -> None:
        self.first = start.toordinal()
        days = (end - start).days + 1
        self.bdays: list[int] = []
        # ge[i]: index into bdays of the first business day on or after day first+i.
        self.ge: list[int] = []
        for i in range(days):
            d = dt.date.fromordinal(self.first + i)
            if sla.is_business_day(d):
                self.bdays.append(self.first + i)
        for i in range(days):
            self.ge.append(bisect.bisect_left(self.bdays, self.first + i))
        self.last = len(self.bdays) - 1
        # Seconds between the epoch and local (KST, no DST) midnight of day ordinal 0.
        self.epoch_offset = dt.datetime(1970, 1, 1, tzinfo=UTC).toordinal() * DAY + 9 * 3600.0
        self._due: dict[tuple[int, int], float] = {}

    def day(self, ts: float) -> int:
        return int((ts + self.epoch_offset) // DAY)

    def midnight(self, day: int) -> float:
        return day * DAY - self.epoch_offset

    def due(self, ts: float, n: int) -> float:
        """sla.add_business_days(ts, n) as a timestamp. It depends only on ts's Seoul date, so it is
        computed once per (date, n): the generator asks ~3 times per referral."""
        d = int((ts + self.epoch_offset) // DAY)
        found = self._due.get((d, n))
        if found is None:
            start = dt.datetime.combine(dt.date.fromordinal(d), dt.time(12), tzinfo=SEOUL)
            found = self._due[(d, n)] = sla.add_business_days(start, n).timestamp()
        return found

    def office_time(self, day: int, rng: random.Random) -> float:
        """A moment in office hours on the first business day on or after `day`."""
        bd = self.bdays[min(self.ge[day - self.first], len(self.bdays) - 1)]
        return self.midnight(bd) + OFFICE_OPEN + rng.random() * OFFICE_HOURS


# --- The directory as plain tuples, and routing candidates. ---


@dataclass
class _DeskInfo:
    id: int
    center_id: int
    domain: str
    operator_kind: str
    outreach: bool
    services: frozenset[int]
    # The desk as referral/routing.py's candidates_for reads it (open_referrals filled in per route).
    candidate: routing.Candidate


@dataclass
class _CenterInfo:
    id: int
    kind: str
    region_id: int
    lat: float
    lon: float
    desks: list[_DeskInfo]
    counselors: list[int]
    manager: int


def ensure_staff(*, using: str = "default") -> dict[int, tuple[list[int], int]]:
    """Counselors and a manager per active center (usernames syn_<center>_c1.., _m), created once."""
    User = get_user_model()
    centers = list(Center.objects.using(using).filter(active=True).order_by("id"))
    wanted: dict[str, tuple[Center, str]] = {}
    for c in centers:
        base = f"{STAFF_PREFIX}{c.code.lower()}"
        for i in range(1, COUNSELORS_PER_CENTER + 1):
            wanted[f"{base}_c{i}"] = (c, Role.COUNSELOR)
        wanted[f"{base}_m"] = (c, Role.CENTER_MANAGER)
    with transaction.atomic(using=using):
        existing = set(User.objects.using(using).filter(username__in=wanted).values_list("username", flat=True))
        new_users = []
        for n, username in enumerate(wanted):
            if username not in existing:
                # A colleague's name on the pages (deterministic: the n-th surname and given name pair).
                name = SURNAMES[n % 10] + GIVEN[(n * 7) % len(GIVEN)] + GIVEN[(n * 13 + 3) % len(GIVEN)]
                user = User(username=username, email=f"{username}@synthetic.invalid", first_name=name)
                user.set_unusable_password()
                new_users.append(user)
        User.objects.using(using).bulk_create(new_users)
        users = dict(User.objects.using(using).filter(username__in=wanted).values_list("username", "id"))
        have = set(
            StaffProfile.objects.using(using).filter(user_id__in=users.values()).values_list("user_id", flat=True)
        )
        StaffProfile.objects.using(using).bulk_create(
            [
                StaffProfile(user_id=users[u], role=role, center=c)
                for u, (c, role) in wanted.items()
                if users[u] not in have
            ]
        )
    out: dict[int, tuple[list[int], int]] = {}
    for c in centers:
        base = f"{STAFF_PREFIX}{c.code.lower()}"
        out[c.id] = (
            [users[f"{base}_c{i}"] for i in range(1, COUNSELORS_PER_CENTER + 1)],
            users[f"{base}_m"],
        )
    return out


class _Directory:
    def __init__(self, using: str) -> None:
        staff = ensure_staff(using=using)
        services = list(Service.objects.using(using).order_by("id"))
        if not services or not Desk.objects.using(using).filter(active=True).exists():
            raise RuntimeError("The directory is empty: run `manage.py load_directory` first.")
        self.services = {s.id: s for s in services}
        self.service_by_code = {s.code: s for s in services}
        self.outcomes: dict[int, tuple[list[tuple[str, bool]], list[tuple[str, bool]]]] = {}
        for o in ServiceOutcome.objects.using(using).order_by("service_id", "code"):
            good, bad = self.outcomes.setdefault(o.service_id, ([], []))
            (good if o.achieved else bad).append((o.code, o.achieved))
        self.centers: dict[int, _CenterInfo] = {}
        for c in Center.objects.using(using).filter(active=True).order_by("id"):
            counselors, manager = staff[c.id]
            self.centers[c.id] = _CenterInfo(
                c.id, c.kind, c.region_id, float(c.latitude), float(c.longitude), [], counselors, manager
            )
        through = Desk.services.through.objects.using(using)
        desk_services: dict[int, set[int]] = {}
        for desk_id, service_id in through.values_list("desk_id", "service_id"):
            desk_services.setdefault(desk_id, set()).add(service_id)
        self.desks: dict[int, _DeskInfo] = {}
        for d in (
            Desk.objects.using(using).filter(active=True, center__active=True).select_related("center").order_by("id")
        ):
            candidate = routing.Candidate(
                desk_id=d.pk,
                desk_code=d.code,
                desk_name=d.name,
                center_id=d.center_id,
                center_code=d.center.code,
                center_name=d.center.name,
                latitude=float(d.center.latitude),
                longitude=float(d.center.longitude),
                open_days=tuple(d.open_days or ()),
                opens_at=d.opens_at,
                closes_at=d.closes_at,
                open_referrals=0,
                capacity=d.capacity,
            )
            info = _DeskInfo(
                d.id,
                d.center_id,
                d.domain,
                d.operator_kind,
                d.outreach,
                frozenset(desk_services.get(d.id, ())),
                candidate,
            )
            self.desks[d.id] = info
            self.centers[d.center_id].desks.append(info)
        # Sending centers and the services they refer to, with weights.
        self.sender_ids = [c.id for c in self.centers.values() if c.kind in CENTER_WEIGHT and c.desks]
        self.sender_cum = _cum([CENTER_WEIGHT[self.centers[c].kind] for c in self.sender_ids])
        # SLA business days per (service, priority) as referral_route and referral_accept read them.
        self.sla_days = {
            (sid, p): sla.days_for(service_id=sid, priority=p, using=using)
            for sid in self.services
            for p in Priority.values
        }
        missing = sorted(s.code for s in services if s.code not in NEED_FOR_SERVICE)
        if missing:
            raise RuntimeError(f"No intake need in cases/needs.py leads to {', '.join(missing)}.")
        self.need_code = {s.id: NEED_FOR_SERVICE[s.code] for s in services}
        self._from_desk: dict[tuple[int, str], _DeskInfo] = {}
        self.domain_services: dict[str, tuple[list[int], list[float]]] = {}
        for s in services:
            ids, weights = self.domain_services.setdefault(s.domain, ([], []))
            ids.append(s.id)
            weights.append(SERVICE_WEIGHTS.get(s.code, 0.1))
        self.domain_services = {k: (ids, list(_cum(ws))) for k, (ids, ws) in self.domain_services.items()}
        # The directory rows generated rows point at, by table (locked by each batch).
        User = get_user_model()
        self.ids_by_table: dict[str, list[int]] = {
            Center._meta.db_table: sorted(self.centers),
            Desk._meta.db_table: sorted(self.desks),
            Service._meta.db_table: sorted(self.services),
            Region._meta.db_table: sorted({c.region_id for c in self.centers.values()}),
            User._meta.db_table: sorted({u for c in self.centers.values() for u in (*c.counselors, c.manager)}),
        }

    def from_desk(self, center: _CenterInfo, domain: str) -> _DeskInfo:
        """The desk a referral leaves from: the center's own (non-outreach) desk in another domain."""
        key = (center.id, domain)
        found = self._from_desk.get(key)
        if found is None:
            own = [d for d in center.desks if not d.outreach and d.domain != domain]
            found = self._from_desk[key] = (own or [d for d in center.desks if d.domain != domain] or center.desks)[0]
        return found


def desk_load(seed: int, desk: routing.Candidate) -> int:
    """The open referrals a desk holds, for the route explanations of a synthetic history.

    A generated history is not written in time order, so the real count at a routing moment is not
    known while it is built; this stands in for it: one figure per desk and seed, now and then at
    capacity (so "passed over as full" shows up on some referral pages).
    """
    r = random.Random(seed * 1_000_003 + desk.desk_id)  # noqa: S311 - synthetic data
    return int(desk.capacity * (0.1 + 0.95 * r.random()))


@dataclass(frozen=True)
class _Entry:
    """A candidate desk as seen from one sending center: everything but the hours to its opening."""

    desk: _DeskInfo
    candidate: routing.Candidate  # with its load
    schedule: int  # index into the group's schedules
    placed: tuple[bool, float]
    # (full, score, desk code) while the desk is open, by priority: routing.rank_key's terms.
    open_key: dict[str, tuple[bool, float, str]]
    # Stands in for the desk's row past the explanation's TOP_N rows, where routing.explanation reads
    # only desk_code, colocated and full (the test that recomputes every route event holds this).
    stand_in: routing.Scored


class _Router:
    """referral_route's decision for a generated referral, from referral/routing.py's own pieces.

    `route` returns what routing.explanation(routing.rank(...)) gives for the same candidates,
    consent, exclusions and moment (a test recomputes it for every generated route event), without
    ranking from scratch: rank() costs ~800 µs for 30 desks, several times the generator's whole
    budget per referral. Between two routings from the same center only the hours to each schedule's
    next opening change, and they are 0 for every desk that is open. So per event this finds the
    hours per schedule (routing.next_opening, looked up once per schedule and day), takes the
    precomputed ranking key of each open desk, computes routing.cost only for the closed ones,
    sorts by routing.rank_key's terms, and builds routing.Scored rows only for the TOP_N shown.
    """

    def __init__(self, directory: _Directory, cal: _Calendar, seed: int) -> None:
        self.dir, self.cal, self.seed = directory, cal, seed
        self._groups: dict[tuple[int, int], tuple[list[_Entry], list[routing.Candidate]]] = {}
        self._loaded = {
            d.id: dataclasses.replace(d.candidate, open_referrals=desk_load(seed, d.candidate))
            for d in directory.desks.values()
        }
        # By (the desk standing for its schedule, day).
        self._windows: dict[tuple[int, int], tuple[Any, Any]] = {}
        self._scored: dict[tuple[int, int, float, float], routing.Scored] = {}
        self._json: dict[tuple[Any, ...], tuple[str, str]] = {}
        self._routes: dict[tuple[Any, ...], tuple[_DeskInfo | None, str, str]] = {}
        # By id() of a row of self._scored, which lives as long as the router.
        self._row_json: dict[int, str] = {}
        self._plans: dict[
            tuple[int, int, frozenset[str], str], tuple[list[tuple[tuple[bool, float, str], _Entry]], list[_Entry]]
        ] = {}
        self._weight = {p: routing.opening_weight(p) for p in Priority.values}

    def group(self, center: _CenterInfo, service_id: int) -> tuple[list[_Entry], list[routing.Candidate]]:
        """candidates_for before the consent filter: active desks that deliver the service, and the
        distinct schedules among them."""
        key = (center.id, service_id)
        found = self._groups.get(key)
        if found is None:
            schedules: dict[tuple[tuple[int, ...], dt.time, dt.time], int] = {}
            reps: list[routing.Candidate] = []
            entries = []
            for d in self.dir.desks.values():
                if service_id not in d.services:
                    continue
                c = self._loaded[d.id]
                sched = (c.open_days, c.opens_at, c.closes_at)
                if sched not in schedules:
                    schedules[sched] = len(reps)
                    reps.append(c)
                placed = routing.placement(c, from_center_id=center.id, from_lat=center.lat, from_lon=center.lon)
                rows = {
                    p: routing.score(
                        c,
                        from_center_id=center.id,
                        from_lat=center.lat,
                        from_lon=center.lon,
                        hours=0.0,
                        weight=w,
                        placed=placed,
                    )
                    for p, w in self._weight.items()
                }
                for p, row in rows.items():
                    self._scored[(center.id, d.id, 0.0, self._weight[p])] = row
                open_key = {p: routing.rank_key(row) for p, row in rows.items()}
                entries.append(_Entry(d, c, schedules[sched], placed, open_key, rows[Priority.NORMAL]))
            found = self._groups[key] = (entries, reps)
        return found

    def _hours(self, desk: routing.Candidate, day: int, now: dt.datetime) -> float:
        """routing.hours_until_open(desk, now): the opening now is in or the next one, found once a day."""
        key = (desk.desk_id, day)
        windows = self._windows.get(key)
        if windows is None:
            midnight = dt.datetime.combine(dt.date.fromordinal(day), dt.time(0), tzinfo=SEOUL)
            first = routing.next_opening(
                open_days=desk.open_days, opens_at=desk.opens_at, closes_at=desk.closes_at, now=midnight
            )
            # Past the day's closing, the next opening is the one after (searched from the same date).
            after = (
                routing.next_opening(
                    open_days=desk.open_days, opens_at=desk.opens_at, closes_at=desk.closes_at, now=first[1]
                )
                if first is not None
                else None
            )
            windows = self._windows[key] = (first, after)
        first, after = windows
        window = first if first is None or now < first[1] else after
        return 999.0 if window is None else routing.hours_until(window[0], now)

    def _plan(
        self, center: _CenterInfo, service_id: int, kinds: frozenset[str], priority: str
    ) -> tuple[list[tuple[tuple[bool, float, str], _Entry]], list[_Entry]]:
        """The candidates the consent's kinds leave: those with room by their key while open (best
        first), and the full ones."""
        key = (center.id, service_id, kinds, priority)
        found = self._plans.get(key)
        if found is None:
            entries, _reps = self.group(center, service_id)
            kept = [e for e in entries if e.desk.operator_kind in kinds]
            found = self._plans[key] = (
                sorted(((e.open_key[priority], e) for e in kept if not e.stand_in.full), key=_FIRST),
                [e for e in kept if e.stand_in.full],
            )
        return found

    def route(
        self, center: _CenterInfo, service_id: int, kinds: frozenset[str], priority: str, excluded: list[int], t: float
    ) -> tuple[_DeskInfo | None, str, str]:
        """The desk referral_route picks at t (None: no candidate left), its event's reason and `data` (JSON)."""
        day = self.cal.day(t)
        _entries, reps = self.group(center, service_id)
        now = dt.datetime.fromtimestamp(t, UTC)
        hours = [self._hours(c, day, now) for c in reps]
        # Everything below is a function of these: most routings happen while every desk is open.
        memo_key = (center.id, service_id, kinds, priority, *excluded, None, *hours)
        memo = self._routes.get(memo_key)
        if memo is None:
            memo = self._routes[memo_key] = self._route(center, service_id, kinds, priority, excluded, hours)
        return memo

    def _route(
        self,
        center: _CenterInfo,
        service_id: int,
        kinds: frozenset[str],
        priority: str,
        excluded: list[int],
        hours: list[float],
    ) -> tuple[_DeskInfo | None, str, str]:
        weight = self._weight[priority]
        with_room, full = self._plan(center, service_id, kinds, priority)
        cost = routing.cost

        def key_of(e: _Entry, open_key: tuple[bool, float, str]) -> tuple[bool, float, str]:
            h = hours[e.schedule]
            if h == 0.0:
                return open_key
            c = e.candidate
            total = cost(
                colocated=e.placed[0],
                distance_km=e.placed[1],
                hours=h,
                open_referrals=c.open_referrals,
                capacity=c.capacity,
                weight=weight,
            )
            return (open_key[0], round(total, 2), c.desk_code)

        # Desks with room, in their order while open: waiting for an opening only adds cost, so once a
        # desk's open score is 0.02 past the TOP_N-th best found (rounding either way is 0.005 each),
        # neither it nor any after it can reach the shown rows. The rest are ranked after those rows.
        best: list[tuple[tuple[bool, float, str], _Entry]] = []
        cutoff = math.inf
        stop = len(with_room)
        for n, (open_key, e) in enumerate(with_room):
            if excluded and e.desk.id in excluded:
                continue
            if open_key[1] > cutoff:
                stop = n
                break
            bisect.insort(best, (key_of(e, open_key), e), key=_FIRST)
            if len(best) >= routing.TOP_N:
                cutoff = best[routing.TOP_N - 1][0][1] + 0.02
        # Full desks come after every desk with room, in their own order (the explanation lists them).
        full_keyed = sorted(
            ((key_of(e, e.open_key[priority]), e) for e in full if not (excluded and e.desk.id in excluded)),
            key=_FIRST,
        )
        keyed = best + full_keyed
        if not keyed:
            return None, *self._explain(service_id, kinds, excluded, (), [], lambda: [])
        top: list[routing.Scored] = []
        for _key, e in keyed[: routing.TOP_N]:
            h = hours[e.schedule]
            skey = (center.id, e.desk.id, h, weight)
            row = self._scored.get(skey)
            if row is None:
                row = self._scored[skey] = routing.score(
                    e.candidate,
                    from_center_id=center.id,
                    from_lat=center.lat,
                    from_lon=center.lon,
                    hours=h,
                    weight=weight,
                    placed=e.placed,
                )
            top.append(row)

        def ranked() -> list[routing.Scored]:
            rest = keyed[routing.TOP_N :]
            skipped = [e.stand_in for _k, e in with_room[stop:] if not (excluded and e.desk.id in excluded)]
            with_room_rest = [e.stand_in for _k, e in rest if not e.stand_in.full] + skipped
            return top + with_room_rest + [e.stand_in for _k, e in rest if e.stand_in.full]

        return keyed[0][1].desk, *self._explain(
            service_id, kinds, excluded, top, [e.desk.id for _k, e in full_keyed], ranked
        )

    def _dumps(self, explanation: dict[str, Any], top: Sequence[routing.Scored]) -> str:
        """json.dumps(explanation), its candidate rows (the `top` rows' as_data) serialized once per row:
        a whole dumps took ~40 µs, most of a route event's cost."""
        parts = []
        # The keys are routing.explanation's identifiers: nothing in them needs escaping.
        for name, value in explanation.items():
            if name == "candidates" and len(value) == len(top):
                rows = []
                for row in top:
                    text = self._row_json.get(id(row))
                    if text is None:
                        text = self._row_json[id(row)] = _dump(row.as_data())
                    rows.append(text)
                parts.append(f'"{name}":[{",".join(rows)}]')
            elif type(value) is int:
                parts.append(f'"{name}":{value}')
            else:
                parts.append(f'"{name}":{_dump(value)}')
        return "{" + ",".join(parts) + "}"

    def _explain(
        self,
        service_id: int,
        kinds: frozenset[str],
        excluded: list[int],
        top: Sequence[routing.Scored],
        full: list[int],
        ranked: Callable[[], list[routing.Scored]],
    ) -> tuple[str, str]:
        """routing.explanation as (reason, JSON), made once per distinct outcome. The explanation holds
        the TOP_N rows, the candidates' count and which are co-located or full (fixed by the service,
        the consent's kinds and the exclusions: all reason_code reads), and the full desks in rank order."""
        key = (service_id, kinds, *excluded, None, *map(id, top), None, *full)
        found = self._json.get(key)
        if found is None:
            explanation = routing.explanation(ranked(), excluded=excluded)
            data = self._dumps(explanation, top)
            _copy_safe([data])
            found = self._json[key] = (explanation["reason"], data)
        return found


_FIRST = operator.itemgetter(0)
_dump = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


# --- COPY text ---

NULL = "\\N"  # COPY's text form of NULL


class _DayText(dict[int, str]):
    """'YYYY-MM-DD ' of day n since the epoch, made on first use."""

    def __missing__(self, days: int) -> str:
        text = self[days] = (dt.date(1970, 1, 1) + dt.timedelta(days=days)).isoformat() + " "
        return text


_DAY_TEXT = _DayText()
_HMS = [f"{h:02d}:{m:02d}:{sec:02d}." for h in range(24) for m in range(60) for sec in range(60)]
_MS = [f"{ms:03d}+00" for ms in range(1000)]


def _ts(v: float) -> str:
    """UTC text for PostgreSQL at millisecond precision: ~0.5 µs where isoformat() costs 3."""
    sec, frac = divmod(int(v * 1000.0), 1000)
    days, sec = divmod(sec, 86_400)
    return _DAY_TEXT[days] + _HMS[sec] + _MS[frac]


def _copy_safe(values: Any) -> None:
    """The generator writes text fields without escaping: its vocabularies must not need any."""
    for v in values:
        if any(c in str(v) for c in "\\\t\n\r"):
            raise ValueError(f"{v!r} would need escaping in COPY text")


# --- Writers ---

# How many COPY lines go to the server in one write.
_CHUNK = 4000


@dataclass(frozen=True)
class _Ids:
    """The first id of each table's block for one batch (blocks are contiguous)."""

    client: int
    consent: int
    case: int
    need: int
    referral: int


@dataclass
class _Plan:
    """A batch's clients: each one's center and case sizes (referrals per case; [0] = advice only)."""

    clients: list[tuple[_CenterInfo, list[int]]]
    cases: int
    referrals: int


@dataclass
class _Batch:
    """COPY lines per table; the event lines start after their id, which the writer prepends."""

    lines: dict[str, list[str]]
    first: _Ids
    encrypt_seconds: float


class _Writer:
    def __init__(self, using: str) -> None:
        self.using = using
        self.conn = connections[using]
        self.postgres = self.conn.vendor == "postgresql"
        self.copy_seconds = 0.0
        self._next: dict[str, int] = {}
        self.fast_fk = True
        self.fk_set_wise = False
        self.valid_ids: dict[str, list[int]] = {}
        self._fks: dict[str, list[tuple[str, str]]] = {}

    def reserve(self, table: str, n: int) -> int:
        """The first of n consecutive ids taken from the table's own sequence."""
        if n == 0:
            return 0
        if self.postgres:
            with self.conn.cursor() as cur:
                # The lock (held to the batch's commit) keeps concurrent inserts, and so their
                # nextval, out of the block.
                cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
                cur.execute(
                    "SELECT setval(s, nextval(s) + %s - 1) - %s + 1 FROM pg_get_serial_sequence(%s, 'id') AS s",
                    [n, n, table],
                )
                start: int = cur.fetchone()[0]
                return start
        if table not in self._next:
            with self.conn.cursor() as cur:
                cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - constant table names
                self._next[table] = cur.fetchone()[0] + 1
        start = self._next[table]
        self._next[table] = start + n
        return start

    def reserve_plan(self, plan: _Plan) -> _Ids:
        return _Ids(
            client=self.reserve("cases_client", len(plan.clients)),
            consent=self.reserve("cases_consent", 2 * len(plan.clients)),
            case=self.reserve("cases_case", plan.cases),
            need=self.reserve("cases_need", plan.referrals),
            referral=self.reserve("referral_referral", plan.referrals),
        )

    def begin_batch(self, directory_ids: dict[str, list[int]]) -> None:
        """Inside the batch transaction: skip the per-row foreign key triggers, checked set-wise in end_batch.

        Like the triggers, the directory rows the batch may point at are locked FOR KEY SHARE
        until the commit, so they cannot disappear between the check and the commit.
        """
        self.fk_set_wise = False
        self.valid_ids = {}
        if not (self.postgres and self.fast_fk):
            return
        with self.conn.cursor() as cur:
            try:
                with transaction.atomic(using=self.using):
                    cur.execute("SET LOCAL session_replication_role = replica")
                self.fk_set_wise = True
            except DatabaseError:
                # Not a superuser: keep the (slower) per-row checks.
                self.fast_fk = False
                return
            for table, ids in directory_ids.items():
                cur.execute(
                    f"SELECT id FROM {table} WHERE id = ANY(%s::bigint[]) ORDER BY id FOR KEY SHARE",  # noqa: S608
                    [ids],
                )
                self.valid_ids[table] = [row[0] for row in cur.fetchall()]

    def foreign_keys(self, table: str) -> list[tuple[str, str]]:
        found = self._fks.get(table)
        if found is None:
            found = []
            for f in self._model(table)._meta.concrete_fields:
                if f.is_relation and f.remote_field is not None:
                    related: Any = f.related_model
                    found.append((str(f.column), related._meta.db_table))
            self._fks[table] = found
        return found

    def end_batch(self, ranges: dict[str, tuple[int, int]]) -> None:
        """Check the rows just written before the commit: one scan of each table's new rows.

        Each block holds exactly its expected rows; every foreign key points into a block of
        this batch (whose rows were just counted), at a locked directory row, or else at a row
        that exists (looked up one by one: only for values outside those sets, so never by
        construction). A failure raises, which rolls the batch back.
        """
        if not self.fk_set_wise:
            return
        with self.conn.cursor() as cur:
            for table, (lo, hi) in ranges.items():
                checks: list[str] = []
                params: list[Any] = []
                names: list[str] = []
                for column, target in self.foreign_keys(table):
                    exists = f"EXISTS (SELECT 1 FROM {target} r WHERE r.id = t.{column})"  # noqa: S608
                    if target in ranges:
                        checks.append(f"t.{column} NOT BETWEEN %s AND %s AND NOT {exists}")
                        params.extend(ranges[target])
                    elif target in self.valid_ids:
                        checks.append(f"t.{column} <> ALL(%s::bigint[]) AND NOT {exists}")
                        params.append(self.valid_ids[target])
                    else:
                        checks.append(f"NOT {exists}")
                    names.append(column)
                filters = "".join(
                    f", count(*) FILTER (WHERE t.{c} IS NOT NULL AND {check})"
                    for c, check in zip(names, checks, strict=True)
                )
                cur.execute(
                    f"SELECT count(*){filters} FROM {table} t WHERE t.id BETWEEN %s AND %s",  # noqa: S608
                    [*params, lo, hi],
                )
                found, *orphans = cur.fetchone()
                if found != hi - lo + 1:
                    raise IntegrityError(f"{table}: {found} rows in the block of {hi - lo + 1}; batch rolled back")
                for column, missing in zip(names, orphans, strict=True):
                    if missing:
                        raise IntegrityError(f"{missing} rows of {table}.{column} point nowhere; batch rolled back")
            cur.execute("SET LOCAL session_replication_role = origin")
        self.fk_set_wise = False

    def _model(self, table: str) -> type[models.Model]:
        from django.apps import apps

        return next(m for m in apps.get_models() if m._meta.db_table == table)

    def write(self, table: str, columns: Sequence[str], lines: list[str], first_id: int | None = None) -> None:
        """Write COPY lines; with first_id, the lines lack their id (the first column), numbered from it."""
        if not lines:
            return
        t0 = time.perf_counter()
        if self.postgres:
            with self.conn.cursor() as cur:
                # Django's CursorWrapper passes .copy through to psycopg 3.
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for k in range(0, len(lines), _CHUNK):
                        part = lines[k : k + _CHUNK]
                        if first_id is None:
                            copy.write("".join(part))
                        else:
                            ids = range(first_id + k, first_id + k + len(part))
                            copy.write("".join([f"{i}\t{line}" for i, line in zip(ids, part, strict=True)]))
        else:
            self._bulk_create(table, columns, lines, first_id)
        self.copy_seconds += time.perf_counter() - t0

    def _bulk_create(self, table: str, columns: Sequence[str], lines: list[str], first_id: int | None) -> None:
        """Other databases: parse the COPY lines back into field values and insert them with executemany.

        Each value goes through its field (to_python, then get_db_prep_save), so SQLite stores what the ORM
        would; columns the lines lack take their field's default, as bulk_create would give them. The ORM's
        per-object SQL compilation was two thirds of the demo's history load on SQLite.
        """
        model = self._model(table)
        fields = {f.column: f for f in model._meta.concrete_fields}
        given = [fields[c] for c in columns]
        columns_given = set(columns)
        rest = [f for f in model._meta.concrete_fields if f.column not in columns_given and f.has_default()]
        defaults = [f.get_db_prep_save(f.get_default(), self.conn) for f in rest]
        quote = self.conn.ops.quote_name
        names = ", ".join(quote(str(f.column)) for f in [*given, *rest])
        sql = f"INSERT INTO {quote(table)} ({names}) VALUES ({', '.join(['%s'] * (len(given) + len(rest)))})"  # noqa: S608 - model table and column names
        rows: list[list[Any]] = []
        for n, line in enumerate(lines):
            text = f"{first_id + n}\t{line}" if first_id is not None else line
            row: list[Any] = []
            for f, raw in zip(given, text.rstrip("\n").split("\t"), strict=True):
                if raw == NULL:
                    value = None
                elif isinstance(f, models.JSONField):
                    value = json.loads(raw)
                elif isinstance(f, models.BinaryField):
                    value = bytes.fromhex(raw.removeprefix("\\\\x"))
                else:
                    value = f.to_python(raw)
                row.append(f.get_db_prep_save(value, self.conn))
            row.extend(defaults)
            rows.append(row)
        with self.conn.cursor() as cur:
            for k in range(0, len(rows), 2000):
                cur.executemany(sql, rows[k : k + 2000])

    def drop_indexes(self) -> list[str]:
        """Bulk mode: drop the plain secondary indexes of the tables written (same transaction), return their DDL."""
        saved: list[str] = []
        with self.conn.cursor() as cur:
            for table, _ in TABLES:
                cur.execute(
                    "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                    "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary "
                    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
                    [table],
                )
                for name, ddl in cur.fetchall():
                    cur.execute(f"DROP INDEX {name}")
                    saved.append(ddl)
        return saved

    def create_indexes(self, saved: list[str]) -> None:
        with self.conn.cursor() as cur:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            for ddl in saved:
                cur.execute(ddl)


# --- Generation ---


_RRN_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)


def _check_digit(digits12: str) -> str:
    total = sum(map(operator.mul, map(int, digits12), _RRN_WEIGHTS))
    return str((11 - total % 11) % 10)


class _Stop(Exception):
    """The writer gave up (it failed); the producer thread ends quietly."""


class _Generator:
    def __init__(self, spec: Spec, using: str, progress: Callable[[str], None] | None) -> None:
        self.spec = spec
        self.rng = _Random(spec.seed)  # noqa: S311 - synthetic data, reproducible on purpose
        now = spec.now or dt.datetime.now(UTC)
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self.now = now.timestamp()
        self.span = spec.months * 30.4375 * DAY
        self.start = self.now - self.span
        local_now = now.astimezone(SEOUL).date()
        self.cal = _Calendar(
            local_now - dt.timedelta(days=int(self.span / DAY) + 10), local_now + dt.timedelta(days=800)
        )
        self.dir = _Directory(using)
        _copy_safe(
            [d.operator_kind for d in self.dir.desks.values()]
            + [code for good, bad in self.dir.outcomes.values() for code, _ in good + bad]
            + [s.code for s in self.dir.services.values()]
            + [s.domain for s in self.dir.services.values()]
            + list(NEED_FOR_SERVICE.values())
        )
        self.writer = _Writer(using)
        self.using = using
        self.progress = progress
        self.result = Result()
        self.used_rrn: set[tuple[int, str | None]] = set()
        self._kinds_json: dict[frozenset[str], str] = {}
        self._detail_json: dict[tuple[str, int], str] = {}
        self._complete_json: dict[tuple[str, bool | None, str], str] = {}
        self.router = _Router(self.dir, self.cal, spec.seed)
        from cases.models import Client

        if Client.objects.using(using).exists():
            self.used_rrn = set(Client.objects.using(using).exclude(rrn_hash=None).values_list("center_id", "rrn_hash"))

    # Small helpers on the shared random stream.

    def later(self, ts: float, bdays: int) -> float:
        """A moment after ts: within hours on the same day for 0, else in office hours bdays business days on."""
        if bdays <= 0:
            return ts + 60 + self.rng.random() * 3 * 3600
        cal = self.cal
        d = int((ts + cal.epoch_offset) // DAY)
        target = cal.bdays[min(cal.ge[d - cal.first] + bdays, cal.last)]
        return target * DAY - cal.epoch_offset + OFFICE_OPEN + self.rng.random() * OFFICE_HOURS

    def before_now(self, base: float, delta: float) -> float:
        t = base + delta
        return t if t < self.now else base + (self.now - base) * (0.2 + 0.6 * self.rng.random())

    def counts_per_client(self) -> list[int]:
        """Referrals per client: mostly 1-3, a long tail, some with none; summing exactly to spec.referrals."""
        rng, n, m = self.rng, self.spec.clients, self.spec.referrals
        if n == 0:
            return []
        mean = m / n
        counts = [
            0 if rng.random() < 0.08 else max(0, int(rng.expovariate(1 / max(mean, 0.01)) + 0.5)) for _ in range(n)
        ]
        diff = m - sum(counts)
        while diff > 0:
            counts[rng.randrange(n)] += 1
            diff -= 1
        while diff < 0:
            i = rng.randrange(n)
            if counts[i]:
                counts[i] -= 1
                diff += 1
        return counts

    def chunks(self, counts: list[int]) -> list[list[int]]:
        """Consecutive clients holding about spec.batch referrals each."""
        out = []
        i = 0
        while i < len(counts):
            j, acc = i, 0
            while j < len(counts) and (acc < self.spec.batch or j == i):
                acc += counts[j]
                j += 1
            out.append(counts[i:j])
            i = j
        return out

    def run(self, bulk: bool) -> Result:
        t_start = time.perf_counter()
        chunks = self.chunks(self.counts_per_client())
        totals = dict.fromkeys(("clients", "consents", "cases", "needs", "referrals", "events"), 0)
        # Bulk mode (a fresh or small database): one transaction that drops the secondary indexes,
        # loads every batch and rebuilds them; a failure anywhere rolls all of it back, indexes
        # included. It holds exclusive locks on the six tables until it commits.
        outer = transaction.atomic(using=self.using) if bulk else contextlib.nullcontext()
        with outer:
            saved = self.writer.drop_indexes() if bulk else []
            batches = self.pipelined(chunks) if self.writer.postgres else self.sequential(chunks)
            for batch in batches:
                for key, (table, _) in zip(totals, TABLES, strict=True):
                    totals[key] += len(batch.lines[table])
                if self.progress:
                    elapsed = time.perf_counter() - t_start
                    self.progress(
                        f"synthetic: {totals['referrals']:,}/{self.spec.referrals:,} referrals, "
                        f"{totals['clients']:,}/{self.spec.clients:,} clients, {totals['events']:,} events "
                        f"({totals['referrals'] / elapsed if elapsed else 0:,.0f} referrals/s)"
                    )
            if saved:
                t_idx = time.perf_counter()
                self.writer.create_indexes(saved)
                if self.progress:
                    self.progress(f"synthetic: rebuilt {len(saved)} indexes in {time.perf_counter() - t_idx:.1f}s")
        self.result.counts = totals
        self.result.copy_seconds = self.writer.copy_seconds
        return self.result

    def sequential(self, chunks: list[list[int]]) -> Iterator[_Batch]:
        """Plan, reserve, build and write one batch after the other (databases without COPY)."""
        for counts in chunks:
            with transaction.atomic(using=self.using):
                plan = self.plan(counts)
                batch = self.build(plan, self.writer.reserve_plan(plan))
                self.write(batch)
            yield batch

    def pipelined(self, chunks: list[list[int]]) -> Iterator[_Batch]:
        """PostgreSQL: a thread builds the next batch while this one is written.

        Only this (the calling) thread touches the database. The builder plans batch k+1 right
        after building batch k, which is the order the random stream is drawn in anyway, and
        hands its plan over with batch k; the ids of batch k+1 are reserved in batch k's
        transaction and handed back. So the rows, ids included, are the ones a purely
        sequential run would write.
        """
        built: queue.Queue[tuple[_Batch, _Plan | None] | _Plan | BaseException] = queue.Queue()
        ids: queue.Queue[_Ids | None] = queue.Queue()

        def builder() -> None:
            try:
                plan = self.plan(chunks[0])
                built.put(plan)
                for k in range(len(chunks)):
                    first = ids.get()
                    if first is None:
                        raise _Stop
                    batch = self.build(plan, first)
                    upcoming = self.plan(chunks[k + 1]) if k + 1 < len(chunks) else None
                    built.put((batch, upcoming))
                    if upcoming is not None:
                        plan = upcoming
            except _Stop:
                pass
            except BaseException as exc:  # handed to the writer, which raises it
                built.put(exc)

        def take() -> Any:
            item = built.get()
            if isinstance(item, BaseException):
                raise item
            return item

        if not chunks:
            return
        thread = threading.Thread(target=builder, name="synthetic-builder", daemon=True)
        switch = sys.getswitchinterval()
        # The writer wakes up often for short moments (a COPY buffer drained, a query answered):
        # let it have the interpreter back quickly so PostgreSQL is not left waiting.
        sys.setswitchinterval(0.0005)
        thread.start()
        try:
            with transaction.atomic(using=self.using):
                ids.put(self.writer.reserve_plan(take()))
            while True:
                batch, upcoming = take()
                with transaction.atomic(using=self.using):
                    if upcoming is not None:
                        ids.put(self.writer.reserve_plan(upcoming))
                    self.write(batch)
                yield batch
                if upcoming is None:
                    break
        finally:
            ids.put(None)
            thread.join()
            sys.setswitchinterval(switch)

    def write(self, batch: _Batch) -> None:
        """The batch's six COPYs, inside its transaction, checked before it commits."""
        w, first, lines = self.writer, batch.first, batch.lines
        w.begin_batch(self.dir.ids_by_table)
        events = lines["referral_referralevent"]
        first_event = w.reserve("referral_referralevent", len(events))
        starts = {
            "cases_client": first.client,
            "cases_consent": first.consent,
            "cases_case": first.case,
            "cases_need": first.need,
            "referral_referral": first.referral,
            "referral_referralevent": first_event,
        }
        ranges = {}
        for table, columns in TABLES:
            rows = lines[table]
            w.write(table, columns, rows, first_event if table == "referral_referralevent" else None)
            if rows:
                ranges[table] = (starts[table], starts[table] + len(rows) - 1)
        w.end_batch(ranges)
        self.result.encrypt_seconds += batch.encrypt_seconds

    def plan(self, counts: list[int]) -> _Plan:
        """Each client's center and cases (1-3 referrals each, distinct services)."""
        rng, d = self.rng, self.dir
        plans = []
        n_cases = 0
        for k in counts:
            center = d.centers[_pick(rng, d.sender_ids, d.sender_cum)]
            sizes = []
            left = k
            while left > 0:
                s = min(left, _pick(rng, (1, 2, 3), _CW_CASE_SIZE))
                sizes.append(s)
                left -= s
            sizes = sizes or [0]
            n_cases += len(sizes)
            plans.append((center, sizes))
        return _Plan(plans, n_cases, sum(counts))

    def build(self, plan: _Plan, first: _Ids) -> _Batch:
        """The batch's rows as COPY lines (no database access: this runs in the builder thread)."""
        rng, d, cal, now = self.rng, self.dir, self.cal, self.now
        clients: list[str] = []
        consents: list[str] = []
        cases: list[str] = []
        needs: list[str] = []
        referrals: list[str] = []
        events: list[str] = []
        case_id, need_id, rid = first.case, first.need, first.referral
        enc = 0.0
        for ci, (center, sizes) in enumerate(plan.clients):
            client_id = first.client + ci
            referral_consent_id = first.consent + 2 * ci + 1
            # The gaps between this client's cases (two weeks to a few months) are drawn first, so the
            # whole history fits before now: pushing late cases back to "just before now" piled a third
            # of all referrals into the current month.
            gaps = [(14 + rng.expovariate(1 / 60)) * DAY for _ in sizes[1:]]
            history = sum(gaps)
            if history > 0.8 * self.span:
                gaps = [g * 0.8 * self.span / history for g in gaps]
                history = 0.8 * self.span
            # First contact: the program grows, so later months are busier (density 1 + x).
            x = -1 + math.sqrt(1 + 3 * rng.random())
            t0 = self.start + x * (self.span - history)
            t0 = cal.office_time(cal.day(t0), rng)
            if t0 >= now:
                t0 = now - 60 - rng.random() * 3600
            creator = rng.choice(center.counselors)
            # The referral consent, recorded at the first visit: every referral of the client relies on it.
            kinds = frozenset((*BASE_CONSENT_KINDS, *(kind for kind, p in EXTRA_CONSENT_KINDS if rng.random() < p)))
            t_case = t0
            domains, dweights = DOMAIN_WEIGHTS.get(center.kind, DOMAIN_WEIGHTS[CenterKind.EMPLOYMENT_WELFARE])
            for ncase, size in enumerate(sizes):
                if ncase:
                    # A later visit, in office hours like the first (the desks it is routed to are open).
                    t_case = self.before_now(t_case, gaps[ncase - 1])
                    t_next = cal.office_time(cal.day(t_case), rng)
                    if t_next < now:
                        t_case = t_next
                counselor = creator if rng.random() < 0.8 else rng.choice(center.counselors)
                services: list[int] = []
                while len(services) < size:
                    ids, sweights = d.domain_services[_pick(rng, domains, dweights)]
                    svc = _pick(rng, ids, sweights)
                    if svc not in services:
                        services.append(svc)
                last_close: float | None = 0.0
                outcomes = []
                t_ref = t_case
                for svc in services:
                    t_ref = self.before_now(t_ref, 30 + rng.random() * 570)
                    service = d.services[svc]
                    needs.append(f"{need_id}\t{case_id}\t{service.domain}\t{d.need_code[svc]}\t\n")
                    need_id += 1
                    line, status, closed_at, outcome = self.referral(
                        events, rid, case_id, client_id, referral_consent_id, center, service, counselor, t_ref, kinds
                    )
                    rid += 1
                    referrals.append(line)
                    outcomes.append((status, outcome))
                    if closed_at is None or last_close is None:
                        last_close = None
                    else:
                        last_close = max(last_close, closed_at)
                # Case closure: once every referral is closed (or at once for advice-only visits).
                status, closed, result, closed_by = CASE_OPEN, None, "", NULL
                if not services:
                    t_close = t_case + 600 + rng.random() * 3000
                    if t_close < now:
                        status, closed, result, closed_by = (
                            CASE_CLOSED,
                            t_close,
                            CaseResult.RESOLVED.value,
                            str(counselor),
                        )
                elif last_close is not None:
                    t_close = self.later(last_close, rng.randint(1, 3))
                    if t_close < now:
                        status, closed, closed_by = CASE_CLOSED, t_close, str(counselor)
                        result = self.case_result(outcomes)
                channel = _pick(
                    rng,
                    _CHANNELS,
                    _CW_CHANNEL_OWN
                    if center.kind in (CenterKind.EMPLOYMENT_WELFARE, CenterKind.MICROFINANCE)
                    else _CW_CHANNEL_PARTNER,
                )
                cases.append(
                    f"{case_id}\t{client_id}\t{center.id}\t{counselor}\t{channel}\t{status}\t\t"
                    f"{_ts(t_case)}\t{NULL if closed is None else _ts(closed)}\t{closed_by}\t{result}\n"
                )
                case_id += 1
            # The client row, its consents.
            t_enc = time.thread_time()  # CPU time: this thread shares the interpreter with the writer
            given = _ts(t0)
            clients.append(self.client_line(client_id, center, creator, t0, given))
            enc += time.thread_time() - t_enc
            # consent_record's expiry, from the given time as stored (whole milliseconds).
            expires = _ts(consent_expiry(_EPOCH + dt.timedelta(milliseconds=int(t0 * 1000.0))).timestamp())
            method = ConsentMethod.ELECTRONIC.value if rng.random() < 0.35 else ConsentMethod.PAPER.value
            tail = f"{method}\t{NOTICE_VERSION}\t{given}\t{creator}\t{expires}\t{NULL}\t{NULL}\n"
            consents.append(f"{referral_consent_id - 1}\t{client_id}\t{COLLECTION}\t[]\t{tail}")
            consents.append(f"{referral_consent_id}\t{client_id}\t{REFERRAL}\t{self.kinds_json(kinds)}\t{tail}")
        return _Batch(
            {
                "cases_client": clients,
                "cases_consent": consents,
                "cases_case": cases,
                "cases_need": needs,
                "referral_referral": referrals,
                "referral_referralevent": events,
            },
            first,
            enc,
        )

    def kinds_json(self, kinds: frozenset[str]) -> str:
        found = self._kinds_json.get(kinds)
        if found is None:
            found = self._kinds_json[kinds] = json.dumps(sorted(kinds), separators=(",", ":"))
        return found

    def detail_json(self, outcome: str, sessions: int) -> str:
        key = (outcome, sessions)
        found = self._detail_json.get(key)
        if found is None:
            found = self._detail_json[key] = json.dumps({"note_code": outcome, "sessions": sessions})
        return found

    def complete_json(self, outcome: str, achieved: bool | None, detail: str) -> str:
        """referral_complete's event data: the outcome, whether achieved, the details."""
        key = (outcome, achieved, detail)
        found = self._complete_json.get(key)
        if found is None:
            found = self._complete_json[key] = (
                f'{{"outcome":{json.dumps(outcome)},"achieved":{json.dumps(achieved)},"detail":{detail}}}'
            )
        return found

    def case_result(self, outcomes: list[tuple[str, bool | None]]) -> str:
        statuses = [s for s, _ in outcomes]
        achieved = [a for s, a in outcomes if s == COMPLETED]
        if achieved and all(achieved) and len(achieved) == len(outcomes):
            return CaseResult.RESOLVED.value
        if any(achieved):
            return CaseResult.PARTIALLY.value
        if all(s == CANCELLED for s in statuses):
            return CaseResult.WITHDREW.value
        if all(s == FAILED for s in statuses):
            return CaseResult.UNREACHABLE.value
        return CaseResult.REFERRED_ONLY.value

    def client_line(self, client_id: int, center: _CenterInfo, creator: int, t0: float, created: str) -> str:
        rng = self.rng
        age = int(19 + rng.betavariate(2.2, 2.0) * 50)
        # The local (KST, no DST) calendar year of t0.
        year = dt.date.fromordinal(self.cal.day(t0)).year - age
        birth = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
        gender = Gender.MALE.value if rng.random() < 0.52 else Gender.FEMALE.value
        if rng.random() < 0.004:
            gender = Gender.OTHER.value
        name = _pick(rng, SURNAMES, _CW_SURNAME) + rng.choice(GIVEN) + rng.choice(GIVEN)
        phone = f"010-{rng.randrange(2000, 10000)}-{rng.randrange(10000):04d}"
        income = _pick(rng, _INCOME, _CW_INCOME)
        employment = _pick(rng, _EMPLOYMENT, _CW_EMPLOYMENT)
        debt = _pick(rng, _DEBT, _CW_DEBT)
        arrears = rng.randint(1, 400) if debt == DebtStatus.ARREARS else NULL
        ciphertext = rrn_hash = NULL
        prefix = ""
        if rng.random() < 0.9:
            sex_digit = (1 if gender != Gender.FEMALE else 2) + (2 if year >= 2000 else 0)
            birth6 = f"{year % 100:02d}{birth.month:02d}{birth.day:02d}"
            while True:
                first12 = f"{birth6}{sex_digit}{rng.randrange(100000):05d}"
                digits = first12 + _check_digit(first12)
                rrn_hash = rrn_blind_index(digits)
                if (center.id, rrn_hash) not in self.used_rrn:
                    break
            self.used_rrn.add((center.id, rrn_hash))
            ciphertext = "\\\\x" + rrn_encrypt(digits).hex()
            prefix = rrn_birth_prefix(digits)
        household = _pick(rng, (1, 2, 3, 4, 5), _CW_HOUSEHOLD)
        return (
            f"{client_id}\t{center.id}\t{name}\t{birth}\t{phone}\t{ciphertext}\t{rrn_hash}\t{prefix}\t{gender}\t"
            f"{center.region_id}\t{household}\t{income}\t{employment}\t{debt}\t{arrears}\t{creator}\t{created}\t{created}\t\n"
        )

    def referral(
        self,
        events: list[str],
        rid: int,
        case_id: int,
        client_id: int,
        consent_id: int,
        center: _CenterInfo,
        service: Service,
        creator: int,
        t_create: float,
        kinds: frozenset[str],
    ) -> tuple[str, str, float | None, bool | None]:
        """One referral's life up to now, as referral/services.py would have written it: its COPY line
        (its events appended to `events`), its status, closing time and whether its outcome was achieved.

        Routing is the product's ranking (see _Router); due times are referral/sla.py's, counted from
        the routing (accept) and from the acceptance (first contact, close); a desk that lets the accept
        deadline pass is timed out by the SLA sweep and the referral routed on, as enforce_sla does.
        """
        rng, d, cal, now = self.rng, self.dir, self.cal, self.now
        priority = Priority.URGENT.value if rng.random() < 0.08 else Priority.NORMAL.value
        days = d.sla_days[(service.id, priority)]
        from_desk = d.from_desk(center, service.domain)
        add = events.append
        day_text, hms, ms_text = _DAY_TEXT, _HMS, _MS

        def ev(
            at: float,
            by: int | None,
            kind: str,
            frm: str,
            to: str,
            desk: int | None,
            reason: str = "",
            data: str = "{}",
        ) -> str:
            """Append the event's line (its id comes later); return its time as text (_ts, inlined)."""
            sec, frac = divmod(int(at * 1000.0), 1000)
            days_, sec = divmod(sec, 86_400)
            s = day_text[days_] + hms[sec] + ms_text[frac]
            add(
                f"{rid}\t{s}\t{NULL if by is None else by}\t{kind}\t{frm}\t{to}\t"
                f"{NULL if desk is None else desk}\t{reason}\t\t{data}\n"
            )
            return s

        created_s = t_s = ev(t_create, creator, E.CREATE, "", REQUESTED, None)
        status = REQUESTED
        desk: _DeskInfo | None = None
        colocated: bool | None = None
        routed_s = accepted_s = started_s = closed_s = NULL
        accept_due = contact_due = close_due = None
        assigned = None
        outcome = reason = escalated = before_hold = ""
        achieved: bool | None = None
        attempts = 0
        detail = "{}"
        t = t_create
        excluded: list[int] = []

        # Routing: each desk accepts, declines, or lets the accept deadline pass (then the sweep times
        # it out); either of the last two sends the referral on to the next desk of the ranking.
        r = rng.random()
        declines = 0 if r < 0.88 else 1 if r < 0.97 else 2
        # A few referrals no desk will take: every candidate declines in turn until none is left.
        if rng.random() < 0.004:
            declines = 10**6
        done = False
        t_acc = 0.0
        while True:
            # The routing worker picks it up within seconds; whole seconds, so the stored moment is exact.
            t_route = float(math.ceil(t + 1 + rng.random() * 4))
            if t_route >= now:
                done = True  # still unrouted
                break
            attempts += 1
            desk, why, data = self.router.route(center, service.id, kinds, priority, excluded, t_route)
            if desk is None:
                s = ev(t_route, None, E.ROUTE_FAILED, REQUESTED, REJECTED, None, RejectReason.NO_CANDIDATE.value, data)
                status, reason, t, closed_s, t_s = REJECTED, RejectReason.NO_CANDIDATE.value, t_route, s, s
                done = True
                break
            colocated = desk.center_id == center.id
            accept_due = cal.due(t_route, days.accept)
            routed_s = t_s = ev(t_route, None, E.ROUTE, REQUESTED, REQUESTED, desk.id, why, data)
            t = t_route
            dcenter = d.centers[desk.center_id]
            timed_out = False
            if declines:
                declines -= 1
                if rng.random() < 0.2:
                    timed_out = True
                else:
                    t_dec = self.later(t, _pick(rng, (0, 1, 2), _CW_DECLINE_DAYS))
                    if t_dec > accept_due:
                        timed_out = True
                    else:
                        if t_dec >= now:
                            done = True
                            break
                        why = _pick(rng, _DECLINE, _CW_DECLINE)
                        t_s = ev(t_dec, rng.choice(dcenter.counselors), E.DECLINE, REQUESTED, REQUESTED, desk.id, why)
                        t = t_dec
            else:
                slow = rng.random() < 0.06
                t_acc = self.later(t, rng.randint(3, 8) if slow else _pick(rng, (0, 1, 2), _CW_ACCEPT_DAYS))
                if t_acc <= accept_due:
                    break
                timed_out = True
            if timed_out:
                # enforce_sla runs every minute or so.
                t_out = accept_due + 30 + rng.random() * 60
                if t_out >= now:
                    done = True
                    break
                t_s = ev(t_out, None, E.TIMEOUT, REQUESTED, REQUESTED, desk.id, ACCEPT_OVERDUE)
                t = t_out
            excluded.append(desk.id)
            excluded.sort()
            routed_s = NULL
            desk, accept_due = None, None

        if not done and desk is not None:
            dcenter = d.centers[desk.center_id]
            worker = rng.choice(dcenter.counselors)
            fate = rng.random()
            # Cancelled by the sending side before anyone accepted it.
            if fate < 0.03:
                t_c = self.later(t, 0)
                if t_c < now and t_c < t_acc:
                    why = rng.choice(_CANCEL_EARLY)
                    s = ev(t_c, creator, E.CANCEL, REQUESTED, CANCELLED, desk.id, why)
                    status, reason, t, closed_s, t_s = CANCELLED, why, t_c, s, s
                    done = True
            if not done:
                if t_acc >= now:
                    done = True
                else:
                    s = ev(t_acc, worker, E.ACCEPT, REQUESTED, ACCEPTED, desk.id, "", f'{{"assigned_to":{worker}}}')
                    status, assigned, t, accepted_s, t_s = ACCEPTED, worker, t_acc, s, s
                    contact_due = cal.due(t_acc, days.contact)
                    close_due = cal.due(t_acc, days.close)
            if not done:
                r = rng.random()
                if r < 0.06:
                    # Could not reach the client or they did not come: failed before the first contact.
                    t_f = self.later(t, rng.randint(2, 6))
                    if t_f < now:
                        why = rng.choice(_FAIL_EARLY)
                        s = ev(t_f, worker, E.FAIL, ACCEPTED, FAILED, desk.id, why)
                        status, reason, t, closed_s, t_s = FAILED, why, t_f, s, s
                    done = True
                elif r < 0.09:
                    t_c = self.later(t, rng.randint(1, 4))
                    if t_c < now:
                        why = rng.choice(_CANCEL_ACCEPTED)
                        s = ev(t_c, creator, E.CANCEL, ACCEPTED, CANCELLED, desk.id, why)
                        status, reason, t, closed_s, t_s = CANCELLED, why, t_c, s, s
                    done = True
            if not done:
                slow = rng.random() < 0.05
                t_st = self.later(t, rng.randint(4, 10) if slow else _pick(rng, (0, 1, 2, 3), _CW_START_DAYS))
                if t_st >= now:
                    done = True
                else:
                    s = ev(t_st, worker, E.START, ACCEPTED, IN_PROGRESS, desk.id)
                    status, t, started_s, t_s = IN_PROGRESS, t_st, s, s
            if not done and rng.random() < 0.05:
                t_h = self.later(t, rng.randint(1, 5))
                if t_h >= now:
                    done = True
                else:
                    t_s = ev(t_h, worker, E.HOLD, IN_PROGRESS, ON_HOLD, desk.id)
                    status, before_hold, t = ON_HOLD, IN_PROGRESS, t_h
                    t_r = self.later(t, rng.randint(2, 15))
                    if t_r >= now:
                        done = True
                    else:
                        t_s = ev(t_r, worker, E.RESUME, ON_HOLD, IN_PROGRESS, desk.id)
                        status, before_hold, t = IN_PROGRESS, "", t_r
            if not done:
                slow = rng.random() < 0.08
                t_close = self.later(t, rng.randint(15, 40) if slow else rng.randint(1, 15))
                if t_close < now:
                    r = rng.random()
                    if r < 0.8:
                        good, bad = d.outcomes.get(service.id, ([], []))
                        pool = good if (rng.random() < 0.72 or not bad) and good else bad
                        if pool:
                            outcome, achieved = rng.choice(pool)
                        if service.code == "debt_adjustment" or rng.random() < 0.3:
                            detail = self.detail_json(outcome, rng.randint(1, 5))
                        s = ev(
                            t_close,
                            worker,
                            E.COMPLETE,
                            IN_PROGRESS,
                            COMPLETED,
                            desk.id,
                            outcome,
                            self.complete_json(outcome, achieved, detail),
                        )
                        status = COMPLETED
                    elif r < 0.95:
                        reason = _pick(rng, _FAIL, _CW_FAIL)
                        s = ev(t_close, worker, E.FAIL, IN_PROGRESS, FAILED, desk.id, reason)
                        status = FAILED
                    else:
                        reason = rng.choice(_CANCEL_LATE)
                        s = ev(t_close, creator, E.CANCEL, IN_PROGRESS, CANCELLED, desk.id, reason)
                        status = CANCELLED
                    t, closed_s, t_s = t_close, s, s

            # The SLA sweep alerts once about an open referral's overdue step (referral_escalate).
            if status in (ACCEPTED, IN_PROGRESS, ON_HOLD):
                step, due = ("contact", contact_due) if status == ACCEPTED else ("close", close_due)
                if due is not None and due < now:
                    t_esc = due + 300
                    if t_esc < now and t_esc > t:
                        t_s = ev(t_esc, None, E.ESCALATE, status, status, desk.id, step)
                        escalated, t = step, t_esc

        to_desk = to_center = NULL
        if desk is not None and status != REJECTED:
            to_desk, to_center = str(desk.id), str(desk.center_id)
        # A closed referral's last event is its closing.
        closed_at = None if closed_s is NULL else t
        line = (
            f"{rid}\t{case_id}\t{client_id}\t{service.id}\t{consent_id}\t{priority}\t{status}\t{before_hold}\t"
            f"{center.id}\t{from_desk.id}\t{to_desk}\t{to_center}\t{NULL if assigned is None else assigned}\t"
            f"{creator}\t\t{created_s}\t{routed_s}\t{accepted_s}\t{started_s}\t{closed_s}\t{t_s}\t"
            f"{NULL if accept_due is None else _ts(accept_due)}\t{NULL if contact_due is None else _ts(contact_due)}\t"
            f"{NULL if close_due is None else _ts(close_due)}\t{escalated}\t"
            f"{outcome}\t{_BOOL[achieved]}\t{detail}\t{reason}\t{attempts}\t{_BOOL[colocated]}\n"
        )
        return line, status, closed_at, achieved


_BOOL = {None: NULL, True: "t", False: "f"}


def generate_synthetic(
    spec: Spec,
    *,
    using: str = "default",
    progress: Callable[[str], None] | None = None,
    analyze: bool = True,
    bulk: bool | None = None,
) -> Result:
    """Write spec.clients clients and spec.referrals referrals with their histories. See the module docstring."""
    if spec.clients < 0 or spec.referrals < 0 or spec.months < 1 or spec.batch < 1:
        raise ValueError("clients and referrals must be >= 0, months and batch >= 1")
    if spec.referrals and not spec.clients:
        raise ValueError("referrals need at least one client")
    t_start = time.perf_counter()
    gen = _Generator(spec, using, progress)
    conn = connections[using]
    if gen.writer.postgres:
        with conn.cursor() as cur:
            # Each batch commits on its own; losing the last one in a crash loses nothing that was
            # promised to anyone, so the WAL flush need not wait. Session-local.
            cur.execute("SET synchronous_commit TO off")
    if bulk is None:
        # Rebuilding indexes pays off when the load is larger than what is there already.
        bulk = gen.writer.postgres and _has_fewer_rows(conn, "referral_referral", spec.referrals)
    try:
        result = gen.run(bool(bulk and gen.writer.postgres))
    finally:
        if gen.writer.postgres:
            with conn.cursor() as cur:
                cur.execute("RESET synchronous_commit")
    if analyze and gen.writer.postgres:
        t0 = time.perf_counter()
        with conn.cursor() as cur:
            for table, _ in TABLES:
                cur.execute(f"ANALYZE {table}")
        if progress:
            progress(f"synthetic: ANALYZE took {time.perf_counter() - t0:.1f}s")
    result.seconds = time.perf_counter() - t_start
    return result


def _has_fewer_rows(conn: Any, table: str, n: int) -> bool:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) t", [n])  # noqa: S608
        return cur.fetchone()[0] < n


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
