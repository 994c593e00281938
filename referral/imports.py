"""Applying an approved partner import batch: every row becomes a client (or links the matched one), its
consents, a case and a referral, through the same services as a walk-in — all in one transaction.

Locking rule: a worker first claims the batch by a conditional update (approved → applying, or an
`applying` batch whose claim is older than APPLY_LEASE: its worker died); then, inside the one
transaction, it locks the batch row (SKIP LOCKED: a second worker on the same batch does nothing) and
its center's client registrations (cases.services.registrations_exclusive). A worker killed mid-way
leaves nothing behind but the claim, so the batch is applied whole or not at all, and resumed.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from cases import services as case_services
from cases.crypto import rrn_decrypt
from cases.imports import import_progress_key, spreadsheet_safe
from cases.inputs import CaseOpening, ClientFacts, needs_parse
from cases.models import Channel, Client, ConsentPurpose, ImportBatch, ImportRow, ImportStatus
from cases.services import registrations_exclusive
from core.errors import DomainError, DuplicateClient
from referral.models import Referral
from referral.services import referral_create

logger = logging.getLogger(__name__)
S = ImportStatus
# Longer than the apply task's hard time limit: a claim this old belongs to a worker that is gone.
APPLY_LEASE = dt.timedelta(minutes=11)
MAX_APPLY_ATTEMPTS = 3
PROGRESS_EVERY = 100


class RowFailed(Exception):
    def __init__(self, number: int, error: DomainError) -> None:
        super().__init__(f"row {number}: {error.detail}")
        self.number = number
        self.error = error


def _claim(batch_id: int, now: dt.datetime) -> bool:
    fresh = ImportBatch.objects.filter(pk=batch_id, status=S.APPROVED).update(
        status=S.APPLYING, apply_started_at=now, apply_attempts=F("apply_attempts") + 1
    )
    if fresh:
        return True
    stale = ImportBatch.objects.filter(pk=batch_id, status=S.APPLYING, apply_started_at__lt=now - APPLY_LEASE)
    if stale.filter(apply_attempts__gte=MAX_APPLY_ATTEMPTS).update(
        status=S.FAILED,
        failure=_("Applying was interrupted %(n)d times; nothing was created.") % {"n": MAX_APPLY_ATTEMPTS},
    ):
        return False
    return stale.update(apply_started_at=now, apply_attempts=F("apply_attempts") + 1) == 1


def _given_at(day: str) -> dt.datetime:
    """A consent date from the list: that day, 09:00 Seoul (when the partner's office opens)."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9, 0), tzinfo=timezone.get_default_timezone())


def _apply_row(user: Any, row: ImportRow) -> None:
    v = row.data
    client: Client | None = None
    if row.matched_client_id:
        client = Client.objects.filter(pk=row.matched_client_id, center_id=user.staff.center_id).first()
    if client is None:
        try:
            client = case_services.client_register(
                user=user,
                facts=ClientFacts(
                    name=v["name"],
                    birth_date=dt.date.fromisoformat(v["birth_date"]),
                    phone=v["phone"],
                    rrn=rrn_decrypt(bytes(row.rrn_ciphertext)) if row.rrn_ciphertext else "",
                    gender=v.get("gender") or "",
                ),
            )
        except DuplicateClient as exc:
            # Registered since the batch was checked (a walk-in): link that client, never a second one.
            client = Client.objects.get(pk=exc.existing_id)
            row.matched_client_id = client.pk
    given = _given_at(v["consent_date"])
    case_services.consent_record(
        user=user, client=client, purpose=ConsentPurpose.COLLECTION, method=v["consent_method"], given_at=given
    )
    case_services.consent_record(
        user=user,
        client=client,
        purpose=ConsentPurpose.REFERRAL,
        method=v["consent_method"],
        organization_kinds=v["consent_kinds"],
        given_at=given,
    )
    case = case_services.case_open(
        user=user,
        client=client,
        opening=CaseOpening(
            channel=Channel.PARTNER,
            needs=needs_parse([{"code": code} for code in v["needs"]]),
            note=v.get("note") or "",
        ),
    )
    referral = referral_create(by=user, case_id=case.pk, service_code=v["service"], note=v.get("note") or "")
    row.client = client
    row.case = case
    row.referral_id = referral.pk


def import_batch_apply(*, batch_id: int) -> ImportBatch | None:
    """Apply an approved batch whole, or not at all. Idempotent: an applied or running batch is left alone."""
    if not _claim(batch_id, timezone.now()):
        return None
    try:
        with translation.override("ko"), transaction.atomic():
            batch = (
                ImportBatch.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("uploaded_by__staff")
                .filter(pk=batch_id, status=S.APPLYING)
                .first()
            )
            if batch is None:
                return None  # another worker holds it
            user = batch.uploaded_by
            with registrations_exclusive(center_id=batch.center_id):
                rows = list(batch.rows.order_by("number"))
                for i, row in enumerate(rows, start=1):
                    try:
                        _apply_row(user, row)
                    except DomainError as exc:
                        raise RowFailed(row.number, exc) from exc
                    if i % PROGRESS_EVERY == 0:
                        cache.set(import_progress_key(batch_id), i, timeout=3600)
            ImportRow.objects.bulk_update(rows, ["client", "case", "referral_id", "matched_client"], batch_size=1000)
            batch.status = S.APPLIED
            batch.applied_at = timezone.now()
            batch.processed_rows = len(rows)
            batch.matched_rows = sum(1 for r in rows if r.matched_client_id)
            batch.save(update_fields=["status", "applied_at", "processed_rows", "matched_rows", "updated_at"])
    except RowFailed as exc:
        # Something changed since the batch was checked (a desk closed, an account moved): nothing was created.
        with translation.override("ko"):
            message = _("Row %(row)d: %(message)s Nothing was created; upload a corrected file.") % {
                "row": exc.number,
                "message": exc.error.detail,
            }
        ImportBatch.objects.filter(pk=batch_id, status=S.APPLYING).update(status=S.FAILED, failure=message[:500])
        logger.warning("import batch %s failed at row %s (%s)", batch_id, exc.number, exc.error.code)
        return ImportBatch.objects.get(pk=batch_id)
    finally:
        cache.delete(import_progress_key(batch_id))
    return batch


def import_batches_to_resume(*, now: dt.datetime | None = None, limit: int = 100) -> dict[str, list[int]]:
    """Batches a lost message or a dead worker left behind: still validating, approved, or applying too long."""
    now = now or timezone.now()
    grace = now - dt.timedelta(minutes=1)
    return {
        "validate": list(
            ImportBatch.objects.filter(status=S.VALIDATING, updated_at__lt=now - dt.timedelta(minutes=10))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        ),
        "apply": list(
            ImportBatch.objects.filter(
                Q(status=S.APPROVED, updated_at__lt=grace)
                | Q(status=S.APPLYING, apply_started_at__lt=now - APPLY_LEASE)
            )
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        ),
    }


# --- The per-row report, once applied. -----------------------------------------------------------------


def import_report_rows(batch: ImportBatch) -> list[dict[str, Any]]:
    """Row, client, matched or new, referral and the desk it reached (or '배정 중' while routing)."""
    rows = list(batch.rows.order_by("number").values("number", "client_id", "matched_client_id", "referral_id"))
    desks: dict[int, tuple[str | None, str | None]] = {
        pk: (desk_name, center_name)
        for pk, desk_name, center_name in Referral.objects.filter(
            pk__in=[r["referral_id"] for r in rows if r["referral_id"]]
        ).values_list("pk", "to_desk__name", "to_center__name")
    }
    out = []
    for r in rows:
        desk, center = desks.get(r["referral_id"] or 0, (None, None))
        out.append({**r, "desk": desk or "", "center": center or ""})
    return out


def import_report_xlsx(batch: ImportBatch) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("결과")
    with translation.override("ko"):
        sheet.append(["행", "내담자 번호", "구분", "연계 번호", "연계 센터", "창구"])
        for r in import_report_rows(batch):
            sheet.append(
                [
                    r["number"],
                    r["client_id"],
                    "기존" if r["matched_client_id"] else "신규",
                    r["referral_id"],
                    spreadsheet_safe(r["center"] or "배정 중"),
                    spreadsheet_safe(r["desk"]),
                ]
            )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
