"""Synthetic national histories over the real directory, for benchmarks and load tests.

`generate_synthetic(spec)` writes clients (RRNs sealed with cases/crypto.py), their consents,
cases and needs, and referrals that went through the lifecycle with coherent timestamps and one
ReferralEvent per transition. Rows are built in pure Python in batches of about `spec.batch`
referrals and written with COPY on PostgreSQL (bulk_create elsewhere).

Everything is drawn from one `random.Random(seed)`: the same seed, `now` and starting database
give the same rows. The one exception is the RRN ciphertext, whose AES-GCM nonce comes from
os.urandom inside `rrn_encrypt` (a deterministic nonce would be a real weakness to copy into
production code); the decrypted RRNs and their blind indexes are identical.

Ids are drawn from the tables' own sequences (`nextval` over a series), so the sequences stay
correct and a concurrent writer cannot collide with a batch. Each batch is one transaction with
every constraint checked; nothing is disabled or deferred past its commit.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import itertools
import json
import math
import random
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connections, models, transaction

from cases.crypto import rrn_birth_prefix, rrn_blind_index, rrn_encrypt
from cases.needs import NEEDS
from centers.models import Center, CenterKind, Desk, Role, Service, ServiceOutcome, StaffProfile


def _pick(rng: random.Random, population: Sequence[Any], cum: Sequence[float]) -> Any:
    """random.choices for one item with precomputed cumulative weights, without its overhead."""
    return population[bisect.bisect(cum, rng.random() * cum[-1])]


def _cum(weights: Sequence[float]) -> tuple[float, ...]:
    return tuple(itertools.accumulate(weights))


SEOUL = ZoneInfo("Asia/Seoul")
UTC = dt.UTC
DAY = 86400.0
OFFICE_OPEN = 9 * 3600.0
OFFICE_HOURS = 9 * 3600.0
STAFF_PREFIX = "syn_"
COUNSELORS_PER_CENTER = 3

# Business days per step (accept, first contact, close) by priority: the defaults the SLA
# policy seeds; the generator does not read SlaPolicy so it works on an empty table.
SLA_DAYS = {"normal": (2, 3, 20), "urgent": (1, 1, 10)}

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
BASE_CONSENT_KINDS = ("employment_welfare", "local_government", "microfinance")

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
_INCOME = ("none", "below_50", "below_60", "below_100", "above_100", "unknown")
_CW_INCOME = _cum((0.25, 0.3, 0.15, 0.2, 0.05, 0.05))
_EMPLOYMENT = ("unemployed", "irregular", "employed", "self_employed", "not_in_labor_force", "unknown")
_CW_EMPLOYMENT = _cum((0.45, 0.25, 0.1, 0.08, 0.07, 0.05))
_DECLINE = ("not_eligible", "no_capacity", "wrong_service", "out_of_area", "duplicate", "other")
_CW_DECLINE = _cum((0.3, 0.25, 0.15, 0.15, 0.05, 0.1))
_FAIL = ("unable_to_contact", "no_show", "client_refused", "not_eligible", "no_longer_needed", "other")
_CW_FAIL = _cum((0.25, 0.2, 0.15, 0.2, 0.15, 0.05))
_CHANNELS = ("walk_in", "phone", "online", "outreach", "partner")
_CW_CHANNEL_OWN = _cum((0.6, 0.12, 0.08, 0.1, 0.1))
_CW_CHANNEL_PARTNER = _cum((0.3, 0.15, 0.05, 0.1, 0.4))

# The intake need (cases/needs.py) recorded for a referral to a service: the first need the
# catalog maps to that service (basic_livelihood ← livelihood, not housing or medical).
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
# Where each referral status's timestamp columns come from: column positions in REFERRAL_COLUMNS.
_R = {name: i for i, name in enumerate(REFERRAL_COLUMNS)}
_JSON_COLUMNS = {"organization_kinds", "outcome_detail", "data"}


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


# --- Calendar: business days in Asia/Seoul with Korean public holidays, as day numbers. ---


class _Calendar:
    def __init__(self, start: dt.date, end: dt.date) -> None:
        kr = holidays.country_holidays("KR", years=range(start.year, end.year + 1))
        self.first = start.toordinal()
        days = (end - start).days + 1
        self.bdays: list[int] = []
        # ge[i]: index into bdays of the first business day on or after day first+i.
        self.ge: list[int] = []
        for i in range(days):
            d = dt.date.fromordinal(self.first + i)
            if d.weekday() < 5 and d not in kr:
                self.bdays.append(self.first + i)
        for i in range(days):
            self.ge.append(bisect.bisect_left(self.bdays, self.first + i))
        # Seconds between the epoch and local (KST, no DST) midnight of day ordinal 0.
        self.epoch_offset = dt.datetime(1970, 1, 1, tzinfo=UTC).toordinal() * DAY + 9 * 3600.0

    def day(self, ts: float) -> int:
        return int((ts + self.epoch_offset) // DAY)

    def midnight(self, day: int) -> float:
        return day * DAY - self.epoch_offset

    def add(self, ts: float, n: int) -> float:
        """The same local time of day, n business days later (from the next business day if ts is not one)."""
        d = self.day(ts)
        target = self.bdays[min(self.ge[d - self.first] + n, len(self.bdays) - 1)]
        return ts + (target - d) * DAY

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


def _km(a: _CenterInfo, b: _CenterInfo) -> float:
    lat = math.radians((a.lat + b.lat) / 2)
    dx = (a.lon - b.lon) * 111.32 * math.cos(lat)
    dy = (a.lat - b.lat) * 110.57
    return math.hypot(dx, dy)


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
        for username in wanted:
            if username not in existing:
                user = User(username=username, email=f"{username}@synthetic.invalid")
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
        for d in Desk.objects.using(using).filter(active=True, center__active=True).order_by("id"):
            info = _DeskInfo(
                d.id, d.center_id, d.domain, d.operator_kind, d.outreach, frozenset(desk_services.get(d.id, ()))
            )
            self.desks[d.id] = info
            self.centers[d.center_id].desks.append(info)
        # Sending centers and the services they refer to, with weights.
        self.sender_ids = [c.id for c in self.centers.values() if c.kind in CENTER_WEIGHT and c.desks]
        self.sender_cum = _cum([CENTER_WEIGHT[self.centers[c].kind] for c in self.sender_ids])
        self._candidates: dict[tuple[int, int, int], list[tuple[_DeskInfo, bool, float]]] = {}
        self._route_json: dict[tuple[int, int, int, int], str] = {}
        self.domain_services: dict[str, tuple[list[int], list[float]]] = {}
        for s in services:
            ids, weights = self.domain_services.setdefault(s.domain, ([], []))
            ids.append(s.id)
            weights.append(SERVICE_WEIGHTS.get(s.code, 0.1))
        self.domain_services = {k: (ids, list(_cum(ws))) for k, (ids, ws) in self.domain_services.items()}

    def from_desk(self, center: _CenterInfo, domain: str) -> _DeskInfo:
        """The desk a referral leaves from: the center's own (non-outreach) desk in another domain."""
        own = [d for d in center.desks if not d.outreach and d.domain != domain]
        return (own or [d for d in center.desks if d.domain != domain] or center.desks)[0]

    def candidates(self, center_id: int, service_id: int, from_desk_id: int) -> list[tuple[_DeskInfo, bool, float]]:
        """Routing order: desks that deliver the service, co-located first, then by distance."""
        key = (center_id, service_id, from_desk_id)
        found = self._candidates.get(key)
        if found is None:
            src = self.centers[center_id]
            found = sorted(
                (
                    (d, d.center_id == center_id, round(_km(src, self.centers[d.center_id]), 1))
                    for d in self.desks.values()
                    if service_id in d.services and d.id != from_desk_id
                ),
                key=lambda t: (not t[1], t[2], t[0].id),
            )
            self._candidates[key] = found
        return found

    def route_data(self, key: tuple[int, int, int], cands: list[tuple[_DeskInfo, bool, float]], index: int) -> str:
        """The routing event's payload: why this desk, and the next candidates with their scores."""
        jkey = (*key, index)
        found = self._route_json.get(jkey)
        if found is None:
            desk, colocated, km = cands[index]
            rest = cands[index : index + 3]
            found = json.dumps(
                {
                    "reason": "colocated" if colocated else "nearest",
                    "desk": desk.id,
                    "candidates": [
                        {"desk": d.id, "colocated": c, "km": k, "score": round(100 * c + 100 / (1 + k), 2)}
                        for d, c, k in rest
                    ],
                    "synthetic": True,
                },
                separators=(",", ":"),
            )
            self._route_json[jkey] = found
        return found


# --- Writers ---


class _Writer:
    def __init__(self, using: str) -> None:
        self.using = using
        self.conn = connections[using]
        self.postgres = self.conn.vendor == "postgresql"
        self.copy_seconds = 0.0
        self._next: dict[str, int] = {}
        self.fast_fk = True
        self._conv: dict[str, list[Callable[[Any], str]]] = {}
        self.fk_set_wise = False

    def reserve(self, table: str, n: int) -> list[int]:
        if n == 0:
            return []
        if self.postgres:
            with self.conn.cursor() as cur:
                # A block of n ids from the table's own sequence. The lock (held to the batch's
                # commit) keeps concurrent inserts, and so their nextval, out of the block.
                cur.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
                cur.execute(
                    "SELECT setval(s, nextval(s) + %s - 1) - %s + 1 FROM pg_get_serial_sequence(%s, 'id') AS s",
                    [n, n, table],
                )
                start = cur.fetchone()[0]
        else:
            if table not in self._next:
                with self.conn.cursor() as cur:
                    cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - constant table names
                    self._next[table] = cur.fetchone()[0] + 1
            start = self._next[table]
            self._next[table] = start + n
        return list(range(start, start + n))

    def begin_batch(self) -> None:
        """Inside the batch transaction: skip the per-row foreign key triggers, checked set-wise in end_batch."""
        self.fk_set_wise = False
        if self.postgres and self.fast_fk:
            with self.conn.cursor() as cur:
                try:
                    with transaction.atomic(using=self.using):
                        cur.execute("SET LOCAL session_replication_role = replica")
                    self.fk_set_wise = True
                except DatabaseError:
                    # Not a superuser: keep the (slower) per-row checks.
                    self.fast_fk = False

    def end_batch(self, ranges: dict[str, tuple[int, int]]) -> None:
        """Check every foreign key of the rows just written, one anti-join per key, before the commit."""
        if not self.fk_set_wise:
            return
        from django.apps import apps

        with self.conn.cursor() as cur:
            for table, (lo, hi) in ranges.items():
                model = next(m for m in apps.get_models() if m._meta.db_table == table)
                for f in model._meta.concrete_fields:
                    if not f.is_relation or f.remote_field is None:
                        continue
                    related: Any = f.related_model
                    target = related._meta.db_table
                    cur.execute(
                        f"SELECT count(*) FROM {table} t LEFT JOIN {target} r ON r.id = t.{f.column} "  # noqa: S608
                        f"WHERE t.id BETWEEN %s AND %s AND t.{f.column} IS NOT NULL AND r.id IS NULL",
                        [lo, hi],
                    )
                    missing = cur.fetchone()[0]
                    if missing:
                        raise IntegrityError(f"{missing} rows of {table}.{f.column} point nowhere; batch rolled back")
            cur.execute("SET LOCAL session_replication_role = origin")
        self.fk_set_wise = False

    def _model(self, table: str) -> type[models.Model]:
        from django.apps import apps

        return next(m for m in apps.get_models() if m._meta.db_table == table)

    def _converters(self, table: str, columns: Sequence[str]) -> list[Callable[[Any], str]]:
        found = self._conv.get(table)
        if found is None:
            fields = {f.column: f for f in self._model(table)._meta.concrete_fields}
            found = []
            for c in columns:
                f = fields[c]
                if isinstance(f, models.DateTimeField):
                    found.append(lambda v: "\\N" if v is None else _fmt_ts(v))
                elif isinstance(f, models.BinaryField):
                    found.append(lambda v: "\\N" if v is None else "\\\\x" + v.hex())
                elif isinstance(f, models.BooleanField):
                    found.append(lambda v: "\\N" if v is None else ("t" if v else "f"))
                elif isinstance(f, (models.CharField, models.TextField, models.JSONField)):
                    found.append(_fmt_text)
                else:  # ids, numbers, dates: their str() is PostgreSQL's text form
                    found.append(lambda v: "\\N" if v is None else str(v))
            self._conv[table] = found
        return found

    def write(self, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        t0 = time.perf_counter()
        if self.postgres:
            conv = self._converters(table, columns)
            pairs = list(enumerate(conv))
            with self.conn.cursor() as cur:
                # Django's CursorWrapper passes .copy through to psycopg 3. The rows are formatted
                # here: psycopg's write_row cost ~10 µs a row, the join below ~3.
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for k in range(0, len(rows), 5000):
                        copy.write(
                            "".join(["\t".join([f(row[i]) for i, f in pairs]) + "\n" for row in rows[k : k + 5000]])
                        )
        else:
            model = self._model(table)
            kinds = {f.column: f for f in model._meta.concrete_fields}
            ts_idx = [i for i, c in enumerate(columns) if isinstance(kinds[c], models.DateTimeField)]
            json_idx = [i for i, c in enumerate(columns) if c in _JSON_COLUMNS]
            objs = []
            for row in rows:
                values = list(row)
                for i in json_idx:
                    values[i] = json.loads(values[i])
                for i in ts_idx:
                    if values[i] is not None:
                        values[i] = dt.datetime.fromtimestamp(values[i], UTC)
                obj = model(**dict(zip(columns, values, strict=True)))
                objs.append(obj)
            # bulk_create would stamp auto_now fields with the wall clock; keep the generated times.
            with _no_auto_now(model):
                model._default_manager.using(self.using).bulk_create(objs, batch_size=500)
        self.copy_seconds += time.perf_counter() - t0

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


class _no_auto_now:
    def __init__(self, model: type[models.Model]) -> None:
        self.fields = [
            f for f in model._meta.concrete_fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        ]
        self.saved: list[tuple[bool, bool]] = []

    def __enter__(self) -> None:
        for f in self.fields:
            self.saved.append((f.auto_now, f.auto_now_add))  # type: ignore[attr-defined]
            f.auto_now = f.auto_now_add = False  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        for f, (a, b) in zip(self.fields, self.saved, strict=True):
            f.auto_now, f.auto_now_add = a, b  # type: ignore[attr-defined]


# --- Generation ---


def _check_digit(digits12: str) -> str:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    total = sum(int(d) * w for d, w in zip(digits12, weights, strict=True))
    return str((11 - total % 11) % 10)


_DAY_TEXT: dict[int, str] = {}
_HMS = [f"{h:02d}:{m:02d}:{sec:02d}." for h in range(24) for m in range(60) for sec in range(60)]


def _fmt_ts(v: float) -> str:
    """UTC text for PostgreSQL at millisecond precision; isoformat() costs 3 µs, this a third of it."""
    ms = int(v * 1000.0)
    days, rest = divmod(ms, 86_400_000)
    day = _DAY_TEXT.get(days)
    if day is None:
        day = _DAY_TEXT[days] = (dt.date(1970, 1, 1) + dt.timedelta(days=days)).isoformat() + " "
    sec, frac = divmod(rest, 1000)
    return f"{day}{_HMS[sec]}{frac:03d}+00"


def _fmt_text(v: Any) -> str:
    if v is None:
        return "\\N"
    s = str(v)
    if "\\" in s or "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return s


class _Generator:
    def __init__(self, spec: Spec, using: str, progress: Callable[[str], None] | None) -> None:
        self.spec = spec
        self.rng = random.Random(spec.seed)  # noqa: S311 - synthetic data, reproducible on purpose
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
        self.writer = _Writer(using)
        self.using = using
        self.progress = progress
        self.result = Result()
        self.used_rrn: set[tuple[int, str | None]] = set()
        from cases.models import Client

        if Client.objects.using(using).exists():
            self.used_rrn = set(Client.objects.using(using).exclude(rrn_hash=None).values_list("center_id", "rrn_hash"))

    # Small helpers on the shared random stream.

    def later(self, ts: float, bdays: int) -> float:
        """A moment after ts: within hours on the same day for 0, else in office hours bdays business days on."""
        if bdays <= 0:
            return ts + 60 + self.rng.random() * 3 * 3600
        cal = self.cal
        d = cal.day(ts)
        target = cal.bdays[min(cal.ge[d - cal.first] + bdays, len(cal.bdays) - 1)]
        return cal.midnight(target) + OFFICE_OPEN + self.rng.random() * OFFICE_HOURS

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

    def run(self, bulk: bool) -> Result:
        t_start = time.perf_counter()
        counts = self.counts_per_client()
        totals = dict.fromkeys(("clients", "consents", "cases", "needs", "referrals", "events"), 0)
        # Bulk mode (a fresh or small database): one transaction that drops the secondary indexes,
        # loads every batch and rebuilds them; a failure anywhere rolls all of it back, indexes
        # included. It holds exclusive locks on the six tables until it commits.
        outer = transaction.atomic(using=self.using) if bulk else contextlib.nullcontext()
        with outer:
            saved = self.writer.drop_indexes() if bulk else []
            i = 0
            while i < len(counts):
                # A batch of clients holding about spec.batch referrals.
                j, acc = i, 0
                while j < len(counts) and (acc < self.spec.batch or j == i):
                    acc += counts[j]
                    j += 1
                with transaction.atomic(using=self.using):
                    self.writer.begin_batch()
                    rows = self.batch(counts[i:j])
                    ranges = {}
                    for (table, columns), key in zip(TABLES, totals, strict=True):
                        self.writer.write(table, columns, rows[key])
                        totals[key] += len(rows[key])
                        if rows[key]:
                            ranges[table] = (rows[key][0][0], rows[key][-1][0])
                    self.writer.end_batch(ranges)
                i = j
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
        self.result.seconds = time.perf_counter() - t_start
        return self.result

    def batch(self, counts: list[int]) -> dict[str, list[tuple[Any, ...]]]:
        rng, d, cal, w = self.rng, self.dir, self.cal, self.writer
        # Plan: each client's center and cases (1-3 referrals each, distinct services).
        plans = []
        for k in counts:
            center = d.centers[_pick(rng, d.sender_ids, d.sender_cum)]
            sizes = []
            left = k
            while left > 0:
                s = min(left, _pick(rng, (1, 2, 3), _CW_CASE_SIZE))
                sizes.append(s)
                left -= s
            plans.append((center, sizes or [0]))
        n_clients = len(plans)
        n_cases = sum(len(s) for _, s in plans)
        n_refs = sum(counts)
        client_ids = w.reserve("cases_client", n_clients)
        consent_ids = w.reserve("cases_consent", 2 * n_clients)
        case_ids = iter(w.reserve("cases_case", n_cases))
        need_ids = iter(w.reserve("cases_need", n_refs))
        ref_ids = iter(w.reserve("referral_referral", n_refs))
        out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in ("clients", "consents", "cases", "needs", "referrals")}
        events: list[tuple[Any, ...]] = []
        enc = 0.0
        x = 0.0
        for ci, (center, sizes) in enumerate(plans):
            client_id = client_ids[ci]
            referral_consent_id = consent_ids[2 * ci + 1]
            # First contact: the program grows, so later months are busier (density 1 + x).
            x = -1 + math.sqrt(1 + 3 * rng.random())
            t0 = self.start + x * self.span
            t0 = cal.office_time(cal.day(t0), rng)
            if t0 >= self.now:
                t0 = self.now - 60 - rng.random() * 3600
            creator = rng.choice(center.counselors)
            kinds: set[str] = set(BASE_CONSENT_KINDS)
            t_case = t0
            for ncase, size in enumerate(sizes):
                if ncase:
                    t_case = self.before_now(t_case, (14 + rng.expovariate(1 / 60)) * DAY)
                case_id = next(case_ids)
                counselor = creator if rng.random() < 0.8 else rng.choice(center.counselors)
                services: list[int] = []
                while len(services) < size:
                    domains, dweights = DOMAIN_WEIGHTS.get(center.kind, DOMAIN_WEIGHTS[CenterKind.EMPLOYMENT_WELFARE])
                    domain = _pick(rng, domains, dweights)
                    ids, sweights = d.domain_services[domain]
                    svc = _pick(rng, ids, sweights)
                    if svc not in services:
                        services.append(svc)
                last_close: float | None = 0.0
                outcomes = []
                t_ref = t_case
                for svc in services:
                    t_ref = self.before_now(t_ref, 30 + rng.random() * 570)
                    rid = next(ref_ids)
                    service = d.services[svc]
                    need = NEED_FOR_SERVICE.get(service.code, service.code)
                    out["needs"].append((next(need_ids), case_id, service.domain, need, ""))
                    row, evs, routed_kinds, status, closed_at, outcome = self.referral(
                        rid, case_id, client_id, referral_consent_id, center, service, counselor, t_ref
                    )
                    kinds.update(routed_kinds)
                    out["referrals"].append(row)
                    events.extend(evs)
                    outcomes.append((status, outcome))
                    if closed_at is None or last_close is None:
                        last_close = None
                    else:
                        last_close = max(last_close, closed_at)
                # Case closure: once every referral is closed (or at once for advice-only visits).
                status, closed, result, closed_by = "open", None, "", None
                if not services:
                    t_close = t_case + 600 + rng.random() * 3000
                    if t_close < self.now:
                        status, closed, result, closed_by = "closed", t_close, "resolved", counselor
                elif last_close is not None:
                    t_close = self.later(last_close, rng.randint(1, 3))
                    if t_close < self.now:
                        status, closed, closed_by = "closed", t_close, counselor
                        result = self.case_result(outcomes)
                channel = _pick(
                    rng,
                    _CHANNELS,
                    _CW_CHANNEL_OWN
                    if center.kind in (CenterKind.EMPLOYMENT_WELFARE, CenterKind.MICROFINANCE)
                    else _CW_CHANNEL_PARTNER,
                )
                out["cases"].append(
                    (
                        case_id,
                        client_id,
                        center.id,
                        counselor,
                        channel,
                        status,
                        "",
                        (t_case),
                        (closed),
                        closed_by,
                        result,
                    )
                )
            # The client row, its consents.
            t_enc = time.perf_counter()
            row = self.client_row(client_id, center, creator, t0)
            enc += time.perf_counter() - t_enc
            out["clients"].append(row)
            given = t0
            expires = t0 + 3 * 365 * DAY
            method = "electronic" if rng.random() < 0.35 else "paper"
            out["consents"].append(
                (
                    consent_ids[2 * ci],
                    client_id,
                    "collection",
                    "[]",
                    method,
                    "2026-1",
                    given,
                    creator,
                    expires,
                    None,
                    None,
                )
            )
            out["consents"].append(
                (
                    referral_consent_id,
                    client_id,
                    "referral",
                    json.dumps(sorted(kinds), separators=(",", ":")),
                    method,
                    "2026-1",
                    given,
                    creator,
                    expires,
                    None,
                    None,
                )
            )
        event_ids = w.reserve("referral_referralevent", len(events))
        out["events"] = [(eid, *ev) for eid, ev in zip(event_ids, events, strict=True)]
        self.result.encrypt_seconds += enc
        return out

    def case_result(self, outcomes: list[tuple[str, bool | None]]) -> str:
        statuses = [s for s, _ in outcomes]
        achieved = [a for s, a in outcomes if s == "completed"]
        if achieved and all(achieved) and len(achieved) == len(outcomes):
            return "resolved"
        if any(achieved):
            return "partially"
        if all(s == "cancelled" for s in statuses):
            return "withdrew"
        if all(s == "failed" for s in statuses):
            return "unreachable"
        return "referred_only"

    def client_row(self, client_id: int, center: _CenterInfo, creator: int, t0: float) -> tuple[Any, ...]:
        rng = self.rng
        age = int(19 + rng.betavariate(2.2, 2.0) * 50)
        year = dt.datetime.fromtimestamp(t0, SEOUL).year - age
        birth = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
        gender = "M" if rng.random() < 0.52 else "F"
        if rng.random() < 0.004:
            gender = "X"
        name = _pick(rng, SURNAMES, _CW_SURNAME) + rng.choice(GIVEN) + rng.choice(GIVEN)
        phone = f"010-{rng.randrange(2000, 10000)}-{rng.randrange(10000):04d}"
        income = _pick(rng, _INCOME, _CW_INCOME)
        employment = _pick(rng, _EMPLOYMENT, _CW_EMPLOYMENT)
        debt = _pick(rng, ("arrears", "repaying", "none", "unknown"), _CW_DEBT)
        arrears = rng.randint(1, 400) if debt == "arrears" else None
        ciphertext = rrn_hash = prefix = None
        if rng.random() < 0.9:
            sex_digit = (1 if gender != "F" else 2) + (2 if year >= 2000 else 0)
            while True:
                first12 = f"{birth:%y%m%d}{sex_digit}{rng.randrange(100000):05d}"
                digits = first12 + _check_digit(first12)
                rrn_hash = rrn_blind_index(digits)
                if (center.id, rrn_hash) not in self.used_rrn:
                    break
            self.used_rrn.add((center.id, rrn_hash))
            ciphertext = rrn_encrypt(digits)
            prefix = rrn_birth_prefix(digits)
        created = t0
        return (
            client_id,
            center.id,
            name,
            birth,
            phone,
            ciphertext,
            rrn_hash,
            prefix or "",
            gender,
            center.region_id,
            _pick(rng, (1, 2, 3, 4, 5), _CW_HOUSEHOLD),
            income,
            employment,
            debt,
            arrears,
            creator,
            created,
            created,
        )

    def referral(
        self,
        rid: int,
        case_id: int,
        client_id: int,
        consent_id: int,
        center: _CenterInfo,
        service: Service,
        creator: int,
        t_create: float,
    ) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], set[str], str, float | None, bool | None]:
        """One referral's life up to now: the row, its events, the organization kinds it reached."""
        rng, d, cal, now = self.rng, self.dir, self.cal, self.now
        priority = "urgent" if rng.random() < 0.08 else "normal"
        accept_days, contact_days, close_days = SLA_DAYS[priority]
        from_desk = d.from_desk(center, service.domain)
        cands = d.candidates(center.id, service.id, from_desk.id)
        key = (center.id, service.id, from_desk.id)
        evs: list[tuple[Any, ...]] = []
        kinds: set[str] = set()

        def ev(
            at: float,
            by: int | None,
            kind: str,
            frm: str,
            to: str,
            desk: int | None,
            reason: str = "",
            data: str = "{}",
        ) -> None:
            evs.append((rid, at, by, kind, frm, to, desk, reason, "", data))

        ev(t_create, creator, "create", "", "requested", None)
        status = "requested"
        desk: _DeskInfo | None = None
        colocated: bool | None = None
        routed = accepted = started = closed = None
        accept_due = contact_due = close_due = None
        assigned = None
        outcome = reason = escalated = before_hold = ""
        achieved: bool | None = None
        attempts = 0
        detail = "{}"
        t = t_create

        # Routing, with declines (or a missed accept deadline) moving on to the next candidate.
        idx = 0
        if cands and cands[0][1]:
            idx = 0 if rng.random() < 0.88 else min(len(cands) - 1, 1 + int(rng.random() * 2))
        else:
            r = rng.random()
            idx = 0 if r < 0.7 else 1 if r < 0.9 else 2
            idx = min(idx, max(len(cands) - 1, 0))
        r = rng.random()
        declines = 0 if r < 0.88 else 1 if r < 0.97 else 2
        # A few referrals find only one or two eligible desks (area, eligibility), and both decline.
        last = len(cands)
        if rng.random() < 0.015:
            last = min(len(cands), idx + rng.randint(1, 2))
            declines = last - idx
        done = False
        while True:
            t_route = t + 1 + rng.random() * 4
            if t_route >= now:
                done = True  # still unrouted
                break
            attempts += 1
            if idx >= last:
                ev(t_route, None, "route_failed", "requested", "rejected", None, "no_candidate")
                status, closed, reason, t = "rejected", t_route, "no_candidate", t_route
                desk = None
                done = True
                break
            desk, colocated, _km = cands[idx]
            kinds.add(desk.operator_kind)
            routed = t_route
            accept_due = cal.add(t_route, accept_days)
            ev(
                t_route,
                None,
                "route",
                "requested",
                "requested",
                desk.id,
                "colocated" if colocated else "nearest",
                d.route_data(key, cands, idx),
            )
            t = t_route
            if declines == 0:
                break
            declines -= 1
            dcenter = d.centers[desk.center_id]
            if rng.random() < 0.2:
                t_dec = accept_due
                if t_dec >= now:
                    done = True
                    break
                ev(t_dec, None, "timeout", "requested", "requested", desk.id, "accept_due")
            else:
                t_dec = self.later(t, _pick(rng, (0, 1, 2), _CW_DECLINE_DAYS))
                if t_dec >= now:
                    done = True
                    break
                why = _pick(rng, _DECLINE, _CW_DECLINE)
                ev(t_dec, rng.choice(dcenter.counselors), "decline", "requested", "requested", desk.id, why)
            t = t_dec
            idx += 1

        if not done and desk is not None:
            dcenter = d.centers[desk.center_id]
            worker = rng.choice(dcenter.counselors)
            fate = rng.random()
            # Cancelled by the sending side before anyone accepted it.
            if fate < 0.03:
                t_c = self.later(t, rng.randint(0, 2))
                if t_c < now:
                    why = rng.choice(("client_request", "sent_in_error", "duplicate", "other"))
                    ev(t_c, creator, "cancel", "requested", "cancelled", desk.id, why)
                    status, closed, reason, t = "cancelled", t_c, why, t_c
                done = True
            if not done:
                slow = rng.random() < 0.06
                t_acc = self.later(t, rng.randint(3, 8) if slow else _pick(rng, (0, 1, 2), _CW_ACCEPT_DAYS))
                if t_acc >= now:
                    done = True
                else:
                    ev(t_acc, worker, "accept", "requested", "accepted", desk.id)
                    status, accepted, assigned, t = "accepted", t_acc, worker, t_acc
                    contact_due = cal.add(t_acc, contact_days)
                    close_due = cal.add(routed or t_acc, close_days)
            if not done:
                r = rng.random()
                if r < 0.06:
                    # Could not reach the client or they did not come: failed before the first contact.
                    t_f = self.later(t, rng.randint(2, 6))
                    if t_f < now:
                        why = rng.choice(("unable_to_contact", "no_show", "client_refused"))
                        ev(t_f, worker, "fail", "accepted", "failed", desk.id, why)
                        status, closed, reason, t = "failed", t_f, why, t_f
                    done = True
                elif r < 0.09:
                    t_c = self.later(t, rng.randint(1, 4))
                    if t_c < now:
                        why = rng.choice(("client_request", "duplicate", "other"))
                        ev(t_c, creator, "cancel", "accepted", "cancelled", desk.id, why)
                        status, closed, reason, t = "cancelled", t_c, why, t_c
                    done = True
            if not done:
                slow = rng.random() < 0.05
                t_s = self.later(t, rng.randint(4, 10) if slow else _pick(rng, (0, 1, 2, 3), _CW_START_DAYS))
                if t_s >= now:
                    done = True
                else:
                    ev(t_s, worker, "start", "accepted", "in_progress", desk.id)
                    status, started, t = "in_progress", t_s, t_s
            if not done and rng.random() < 0.05:
                t_h = self.later(t, rng.randint(1, 5))
                if t_h >= now:
                    done = True
                else:
                    ev(
                        t_h,
                        worker,
                        "hold",
                        "in_progress",
                        "on_hold",
                        desk.id,
                        "",
                    )
                    status, before_hold, t = "on_hold", "in_progress", t_h
                    t_r = self.later(t, rng.randint(2, 15))
                    if t_r >= now:
                        done = True
                    else:
                        ev(t_r, worker, "resume", "on_hold", "in_progress", desk.id)
                        status, before_hold, t = "in_progress", "", t_r
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
                        ev(t_close, worker, "complete", "in_progress", "completed", desk.id, outcome)
                        status = "completed"
                        if service.code == "debt_adjustment" or rng.random() < 0.3:
                            detail = json.dumps({"note_code": outcome, "sessions": rng.randint(1, 5)})
                    elif r < 0.95:
                        reason = _pick(rng, _FAIL, _CW_FAIL)
                        ev(t_close, worker, "fail", "in_progress", "failed", desk.id, reason)
                        status = "failed"
                    else:
                        reason = rng.choice(("client_request", "other"))
                        ev(t_close, creator, "cancel", "in_progress", "cancelled", desk.id, reason)
                        status = "cancelled"
                    closed, t = t_close, t_close

            # The SLA sweeper alerts once about an open referral's overdue step.
            if status in ("accepted", "in_progress", "on_hold"):
                step, due = ("contact", contact_due) if status == "accepted" else ("close", close_due)
                if due is not None and due < now:
                    t_esc = due + 300
                    if t_esc < now and t_esc > t:
                        ev(t_esc, None, "escalate", status, status, desk.id, f"{step}_overdue")
                        escalated, t = step, t_esc
            elif status == "requested" and accept_due is not None and accept_due + 300 < now and accept_due + 300 > t:
                ev(accept_due + 300, None, "escalate", "requested", "requested", desk.id, "accept_overdue")
                escalated, t = "accept", accept_due + 300
            colocated = desk.center_id == center.id

        to_desk = desk.id if desk is not None and status != "rejected" else None
        to_center = desk.center_id if to_desk is not None and desk is not None else None
        if to_desk is None:
            colocated = None
        row = (
            rid,
            case_id,
            client_id,
            service.id,
            consent_id,
            priority,
            status,
            before_hold,
            center.id,
            from_desk.id,
            to_desk,
            to_center,
            assigned,
            creator,
            "",
            (t_create),
            (routed),
            (accepted),
            (started),
            (closed),
            (t),
            (accept_due),
            (contact_due),
            (close_due),
            escalated,
            outcome,
            achieved,
            detail,
            reason,
            attempts,
            colocated,
        )
        return row, evs, kinds, status, closed, achieved


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
    return result


def _has_fewer_rows(conn: Any, table: str, n: int) -> bool:
    with conn.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT %s) t", [n])  # noqa: S608
        return cur.fetchone()[0] < n


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
