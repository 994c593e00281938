"""The access log's hash chain: each row's keyed hash covers its content and the previous row's hash.

Writers serialize on one lock (a PostgreSQL transaction-level advisory lock; SQLite serializes writers
itself) for the few statements that read the chain's head and insert, so `seq` has no gaps or forks.
The key is derived from PII_HASH_KEY, so a person with database access alone cannot forge a row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from cases.models import PiiAccessLog

GENESIS = "0" * 64
# Advisory lock of the chain's head: (this number, the database's name hashed). Advisory locks are
# cluster-wide, so the database is part of the key: databases sharing a server never wait on each other.
_LOCK_KEY = 0x7A_10_61
PURGE_SETTING = "yeongye.allow_access_log_purge"


def _key() -> bytes:
    return hmac.new(str(settings.PII_HASH_KEY).encode(), b"yeongye access log chain v1", hashlib.sha256).digest()


def row_digest(
    *,
    seq: int,
    at: dt.datetime,
    user_id: int,
    client_id: int,
    action: str,
    view: str,
    ip_address: str | None,
    reason: str,
    prev_hash: str,
) -> str:
    canonical = "\x1f".join(
        [
            str(seq),
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            str(user_id),
            str(client_id),
            action,
            view,
            ip_address or "",
            reason,
            prev_hash,
        ]
    )
    return hmac.new(_key(), canonical.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Entry:
    user_id: int
    client_id: int
    action: str
    view: str
    ip_address: str | None
    reason: str = ""


def append(entries: Iterable[Entry], *, at: dt.datetime) -> int:
    """Chain and insert the entries in one transaction; returns how many were written."""
    rows = list(entries)
    if not rows:
        return 0
    # No savepoint: inside a caller's transaction a failed log write must fail the caller's work too.
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s, hashtext(current_database()))", [_LOCK_KEY])
        head = PiiAccessLog.objects.order_by("-seq").values_list("seq", "row_hash").first()
        seq, prev = head if head else (0, GENESIS)
        objs = []
        for e in rows:
            seq += 1
            digest = row_digest(
                seq=seq,
                at=at,
                user_id=e.user_id,
                client_id=e.client_id,
                action=e.action,
                view=e.view,
                ip_address=e.ip_address,
                reason=e.reason,
                prev_hash=prev,
            )
            objs.append(
                PiiAccessLog(
                    at=at,
                    user_id=e.user_id,
                    client_id=e.client_id,
                    action=e.action,
                    view=e.view,
                    ip_address=e.ip_address,
                    reason=e.reason,
                    seq=seq,
                    prev_hash=prev,
                    row_hash=digest,
                )
            )
            prev = digest
        PiiAccessLog.objects.bulk_create(objs)
    return len(objs)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    rows: int
    first_bad: int | None  # the `seq` of the first row whose hash or link does not hold
    first_bad_id: int | None


def _rows() -> Iterator[tuple]:
    qs = PiiAccessLog.objects.order_by("seq").values_list(
        "id", "seq", "at", "user_id", "client_id", "action", "view", "ip_address", "reason", "prev_hash", "row_hash"
    )
    return qs.iterator(chunk_size=5000)


def verify() -> Verdict:
    """Walk the chain from its oldest kept row (older rows may have been purged after retention)."""
    count = 0
    prev: str | None = None
    last_seq: int | None = None
    for pk, seq, at, user_id, client_id, action, view, ip, reason, prev_hash, row_hash in _rows():
        count += 1
        linked = (prev is None or prev_hash == prev) and (last_seq is None or seq == last_seq + 1)
        expected = row_digest(
            seq=seq,
            at=at,
            user_id=user_id,
            client_id=client_id,
            action=action,
            view=view,
            ip_address=ip,
            reason=reason,
            prev_hash=prev_hash,
        )
        if not linked or not hmac.compare_digest(expected, row_hash):
            return Verdict(ok=False, rows=count, first_bad=seq, first_bad_id=pk)
        prev, last_seq = row_hash, seq
    return Verdict(ok=True, rows=count, first_bad=None, first_bad_id=None)


def purge_before(cutoff: dt.datetime) -> int:
    """The retention purge: the one DELETE the database's trigger lets through (it checks the setting)."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        deleted, _detail = PiiAccessLog.objects.filter(at__lt=cutoff).delete()
    return deleted
