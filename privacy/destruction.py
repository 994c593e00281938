"""Destruction services (Act §21, Decree §16): propose what is due, approve (four eyes), destroy for good.

- `destruction_propose` (nightly, and at once after a collection consent is withdrawn) lists every
  (client, record type) with something left to destroy whose retention has ended, as one batch. At most
  one batch is open at a time; while one is, proposing returns it. Clients kept under another law are
  listed as skipped with the basis.
- `destruction_approve`: a privacy officer who did not propose the batch (the system proposes; it never
  approves).
- `destruction_run` (a worker): everything of the batch in one transaction — rows deleted or identifying
  columns overwritten, the ledger rows written, the batch marked destroyed. Killed or disconnected halfway,
  the transaction rolls back whole and the task runs again (acks late, and the nightly job re-enqueues an
  approved batch); a destroyed batch is never run twice.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.models import (
    DESTROYED_NAME,
    Case,
    CaseNote,
    CaseResult,
    CaseStatus,
    Client,
    Consent,
    ConsentPurpose,
    ImportRow,
    Need,
    ProcessingStop,
)
from core.errors import FourEyes, InvalidTransition, NotFound
from privacy.officer import require_officer
from privacy.requests import erasure_granted_client_ids
from privacy.requests_models import SubjectRequest
from privacy.retention import BATCH_TYPES, METHODS, coarse_birth_date, years_before, years_for
from privacy.retention_models import (
    BatchStatus,
    DestructionBatch,
    DestructionGround,
    DestructionItem,
    DestructionMethod,
    DestructionRecord,
    ItemStatus,
    KeepBasis,
    RecordType,
    RetentionHold,
)
from referral.models import Referral, ReferralEvent, ReferralPosting

# --- what is due ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    client_id: int
    ground: str
    due_on: dt.date


def _local_date(value: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(value) if value is not None else None


def clients_due(*, today: dt.date, record_type: str) -> list[Due]:
    """Clients whose `record_type` retention has ended by `today`, or whose collection consent is withdrawn."""
    latest_collection = Consent.objects.filter(purpose=ConsentPurpose.COLLECTION).order_by("-given_at", "-pk")
    withdrawn_ids = set()
    seen: set[int] = set()
    for client_id, withdrawn_at in latest_collection.values_list("client_id", "withdrawn_at").iterator():
        if client_id in seen:
            continue
        seen.add(client_id)
        if withdrawn_at is not None:
            withdrawn_ids.add(client_id)
    ended = years_before(today, years_for(record_type))
    rows = Client.objects.annotate(
        open_cases=Count("cases", filter=Q(cases__status=CaseStatus.OPEN), distinct=True),
        last_closed=Max("cases__closed_at"),
        last_withdrawn=Max("consents__withdrawn_at", filter=Q(consents__purpose=ConsentPurpose.COLLECTION)),
        last_expiry=Max("consents__expires_at", filter=Q(consents__purpose=ConsentPurpose.COLLECTION)),
    ).values_list("pk", "created_at", "open_cases", "last_closed", "last_withdrawn", "last_expiry")
    due: list[Due] = []
    erasures = erasure_granted_client_ids()
    for pk, created_at, open_cases, last_closed, last_withdrawn, last_expiry in rows.iterator():
        if pk in erasures:
            due.append(Due(pk, DestructionGround.ERASURE_REQUESTED, today))
            continue
        if pk in withdrawn_ids:
            due.append(Due(pk, DestructionGround.CONSENT_WITHDRAWN, _local_date(last_withdrawn) or today))
            continue
        if open_cases:
            continue
        base = max(d for d in (last_closed, last_withdrawn, last_expiry, created_at) if d is not None)
        base_day = timezone.localdate(base)
        if base_day <= ended:
            try:
                due_on = base_day.replace(year=base_day.year + years_for(record_type))
            except ValueError:
                due_on = base_day.replace(year=base_day.year + years_for(record_type), day=28)
            due.append(Due(pk, DestructionGround.RETENTION_ENDED, due_on))
    return due


def _count_by_client(qs: Any, field: str = "client_id") -> Counter[int]:
    return Counter({row[field]: row["n"] for row in qs.values(field).annotate(n=Count("pk")).order_by()})


def remaining_rows(record_type: str, client_ids: list[int]) -> Counter[int]:
    """How many rows of `record_type` are still to destroy, per client (0: nothing left)."""
    if not client_ids:
        return Counter()
    ids = client_ids
    out: Counter[int] = Counter()
    if record_type == RecordType.IDENTITY:
        wanted = set(ids)
        out.update(Client.objects.filter(pk__in=ids).exclude(name=DESTROYED_NAME).values_list("pk", flat=True))
        rows = ImportRow.objects.filter(Q(client_id__in=ids) | Q(matched_client_id__in=ids)).exclude(data={})
        for client_id, matched_id in rows.values_list("client_id", "matched_client_id"):
            out[client_id if client_id in wanted else matched_id] += 1
    elif record_type == RecordType.RRN:
        out.update(
            Client.objects.filter(pk__in=ids)
            .filter(Q(rrn_hash__isnull=False) | Q(rrn_ciphertext__isnull=False) | ~Q(rrn_prefix=""))
            .values_list("pk", flat=True)
        )
        out.update(_count_by_client(ImportRow.objects.filter(client_id__in=ids, rrn_ciphertext__isnull=False)))
    elif record_type == RecordType.CASE_NOTES:
        out.update(_count_by_client(CaseNote.objects.filter(case__client_id__in=ids), "case__client_id"))
        out.update(_count_by_client(Case.objects.filter(client_id__in=ids).exclude(note="")))
        out.update(
            _count_by_client(Referral.objects.filter(client_id__in=ids).filter(~Q(note="") | ~Q(outcome_detail={})))
        )
        out.update(
            _count_by_client(
                ReferralEvent.objects.filter(referral__client_id__in=ids).filter(
                    ~Q(note="") | Q(data__has_key="detail")
                ),
                "referral__client_id",
            )
        )
        out.update(
            _count_by_client(
                ReferralPosting.objects.filter(referral__client_id__in=ids).exclude(warning_reason=""),
                "referral__client_id",
            )
        )
    elif record_type == RecordType.NEEDS:
        out.update(_count_by_client(Need.objects.filter(case__client_id__in=ids).exclude(note=""), "case__client_id"))
    elif record_type == RecordType.CONSENTS:
        out.update(_count_by_client(Consent.objects.filter(client_id__in=ids)))
    return +out


def _holds(client_ids: list[int], today: dt.date) -> dict[int, str]:
    return dict(
        RetentionHold.objects.filter(client_id__in=client_ids)
        .filter(Q(until__isnull=True) | Q(until__gte=today))
        .values_list("client_id", "basis")
    )


# --- propose ----------------------------------------------------------------------------------------------


def open_batch() -> DestructionBatch | None:
    return DestructionBatch.objects.filter(status__in=[BatchStatus.PROPOSED, BatchStatus.APPROVED]).first()


def destruction_propose(*, by: Any = None, now: dt.datetime | None = None) -> DestructionBatch | None:
    """Propose what is due as one batch; the open batch if there is one; None when nothing is due."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    existing = open_batch()
    if existing is not None:
        return existing
    items: list[DestructionItem] = []
    for record_type in BATCH_TYPES:
        due = {d.client_id: d for d in clients_due(today=today, record_type=record_type)}
        counts = remaining_rows(record_type, list(due))
        holds = _holds(list(counts), today)
        for client_id, n in sorted(counts.items()):
            d = due[client_id]
            items.append(
                DestructionItem(
                    client_id=client_id,
                    record_type=record_type,
                    ground=d.ground,
                    due_on=d.due_on,
                    rows=n,
                    status=ItemStatus.SKIPPED if client_id in holds else ItemStatus.DUE,
                    keep_basis=holds.get(client_id, ""),
                )
            )
    if not any(i.status == ItemStatus.DUE for i in items):
        return None
    try:
        with transaction.atomic():
            batch = DestructionBatch.objects.create(proposed_by=by, proposed_at=now)
            for item in items:
                item.batch = batch
            DestructionItem.objects.bulk_create(items, batch_size=2000)
    except IntegrityError:  # another proposer won the race: one open batch at a time
        return open_batch()
    return batch


# --- approve ----------------------------------------------------------------------------------------------


@transaction.atomic
def destruction_approve(*, user: Any, batch_id: int) -> DestructionBatch:
    require_officer(user)
    batch = DestructionBatch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise NotFound(_("Not found."))
    if batch.proposed_by_id is not None and batch.proposed_by_id == user.pk:
        raise FourEyes(_("You proposed this batch: another privacy officer must approve it."))
    if batch.status != BatchStatus.PROPOSED:
        raise InvalidTransition(_("This batch is not awaiting approval."))
    batch.status, batch.approved_by, batch.approved_at = BatchStatus.APPROVED, user, timezone.now()
    batch.save(update_fields=["status", "approved_by", "approved_at"])
    from core.queueing import enqueue_on_commit
    from privacy.retention_tasks import run_destruction

    enqueue_on_commit(run_destruction, batch.pk)
    return batch


# --- destroy ----------------------------------------------------------------------------------------------


def _destroy(record_type: str, ids: list[int], now: dt.datetime) -> None:
    if record_type == RecordType.RRN:
        Client.objects.filter(pk__in=ids).update(rrn_ciphertext=None, rrn_hash=None, rrn_prefix="")
        ImportRow.objects.filter(client_id__in=ids).update(rrn_ciphertext=None)
    elif record_type == RecordType.CASE_NOTES:
        CaseNote.objects.filter(case__client_id__in=ids).delete()
        SubjectRequest.objects.filter(client_id__in=ids).exclude(note="", answer="").update(note="", answer="")
        Case.objects.filter(client_id__in=ids).exclude(note="").update(note="")
        Referral.objects.filter(client_id__in=ids).update(note="", outcome_detail={})
        ReferralEvent.objects.filter(referral__client_id__in=ids).exclude(note="").update(note="")
        for event in ReferralEvent.objects.filter(referral__client_id__in=ids, data__has_key="detail"):
            data = dict(event.data)
            data.pop("detail", None)
            ReferralEvent.objects.filter(pk=event.pk).update(data=data)
        ReferralPosting.objects.filter(referral__client_id__in=ids).exclude(warning_reason="").update(warning_reason="")
    elif record_type == RecordType.NEEDS:
        Need.objects.filter(case__client_id__in=ids).exclude(note="").update(note="")
    elif record_type == RecordType.CONSENTS:
        Referral.objects.filter(client_id__in=ids, consent__isnull=False).update(consent=None)
        Consent.objects.filter(client_id__in=ids).delete()
    elif record_type == RecordType.IDENTITY:
        # The client row stays for the statistics, holding only anonymised facts; an open case of a client
        # who withdrew is closed as withdrawn (nothing more is done for them).
        Case.objects.filter(client_id__in=ids, status=CaseStatus.OPEN).update(
            status=CaseStatus.CLOSED, result=CaseResult.WITHDREW, closed_at=now
        )
        for client in Client.objects.filter(pk__in=ids).exclude(name=DESTROYED_NAME).only("pk", "birth_date"):
            Client.objects.filter(pk=client.pk).update(
                name=DESTROYED_NAME,
                phone="",
                birth_date=coarse_birth_date(client.birth_date),
                rrn_prefix="",
                processing_stopped=ProcessingStop.DESTROYED,
            )
        ImportRow.objects.filter(Q(client_id__in=ids) | Q(matched_client_id__in=ids)).update(data={})


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:100]


def destruction_run(*, batch_id: int, ran_by: str | None = None, now: dt.datetime | None = None) -> bool:
    """Destroy an approved batch whole, in one transaction; True if this call destroyed it."""
    ran_by = ran_by or _worker_name()
    # Counted outside the destroying transaction, so a run that is rolled back still shows as an attempt.
    with transaction.atomic():
        if not DestructionBatch.objects.filter(pk=batch_id, status=BatchStatus.APPROVED).exists():
            return False
        DestructionBatch.objects.filter(pk=batch_id).update(run_attempts=F("run_attempts") + 1)
    with transaction.atomic():
        batch = DestructionBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.status != BatchStatus.APPROVED:
            return False
        now = now or timezone.now()
        today = timezone.localdate(now)
        items = list(batch.items.filter(status=ItemStatus.DUE))
        # A hold set after the proposal is still honoured.
        late_holds = _holds(sorted({i.client_id for i in items}), today)
        for item in items:
            if item.client_id in late_holds:
                item.status, item.keep_basis = ItemStatus.SKIPPED, late_holds[item.client_id]
                DestructionItem.objects.filter(pk=item.pk).update(status=item.status, keep_basis=item.keep_basis)
        by_type: dict[str, list[DestructionItem]] = defaultdict(list)
        for item in items:
            if item.status == ItemStatus.DUE:
                by_type[item.record_type].append(item)
        ledger: list[DestructionRecord] = []
        for record_type in BATCH_TYPES:
            todo = by_type.get(record_type, [])
            if not todo:
                continue
            ids = [i.client_id for i in todo]
            counts = remaining_rows(record_type, ids)
            _destroy(record_type, ids, now)
            per_ground: dict[str, list[int]] = defaultdict(list)
            for item in todo:
                DestructionItem.objects.filter(pk=item.pk).update(
                    status=ItemStatus.DESTROYED, rows=counts.get(item.client_id, 0)
                )
                per_ground[item.ground].append(item.client_id)
            for ground, clients in sorted(per_ground.items()):
                ledger.append(
                    DestructionRecord(
                        at=now,
                        batch=batch,
                        record_type=record_type,
                        clients=len(clients),
                        rows=sum(counts.get(c, 0) for c in clients),
                        ground=ground,
                        method=METHODS[record_type],
                        approved_by_id=batch.approved_by_id,
                        ran_by=ran_by,
                    )
                )
        DestructionRecord.objects.bulk_create(ledger)
        batch.status, batch.destroyed_at, batch.ran_by = BatchStatus.DESTROYED, now, ran_by
        batch.save(update_fields=["status", "destroyed_at", "ran_by"])
    return True


def approved_batches_stuck(*, older_than: dt.timedelta = dt.timedelta(minutes=10)) -> list[int]:
    """Approved batches not destroyed yet (a lost message, a killed worker): the nightly job runs them again."""
    cutoff = timezone.now() - older_than
    return list(
        DestructionBatch.objects.filter(status=BatchStatus.APPROVED, approved_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )


# --- the access log purge's ledger row, and records kept under another law --------------------------------


def ledger_record_access_log_purge(*, rows: int, now: dt.datetime | None = None) -> DestructionRecord:
    return DestructionRecord.objects.create(
        at=now or timezone.now(),
        record_type=RecordType.ACCESS_LOG,
        clients=0,
        rows=rows,
        ground=DestructionGround.ACCESS_LOG_RETENTION,
        method=DestructionMethod.DELETED,
        approved_by=None,
        ran_by="cases.tasks.purge_access_log",
    )


@transaction.atomic
def retention_hold_set(
    *, user: Any, client_id: int, basis: str, note: str = "", until: dt.date | None = None
) -> RetentionHold:
    """Flag a client's records as kept under another law (Act §21③): destruction skips them, naming the basis."""
    require_officer(user)
    if basis not in KeepBasis.values:
        from core.errors import InvalidInput

        raise InvalidInput(_("Choose the law that requires the records to be kept."), field="basis")
    if not Client.objects.filter(pk=client_id).exists():
        raise NotFound(_("Not found."))
    hold, _created = RetentionHold.objects.update_or_create(
        client_id=client_id, defaults={"basis": basis, "note": note[:300], "until": until, "set_by": user}
    )
    return hold
