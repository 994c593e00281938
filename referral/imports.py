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
from cases.models import AccessAction, Channel, Client, ConsentPurpose, ImportBatch, ImportRow, ImportStatus
from cases.services import ConsentRequest, registrations_exclusive
from cases.validation import text_validate
from core.errors import DomainError, RowError
from core.queueing import enqueue_on_commit
from referral.models import Referral
from referral.services import BulkReferral, referrals_create_bulk, referrals_route

logger = logging.getLogger(__name__)
# Longer than the apply task's hard time limit: a claim this old belongs to a worker that is gone.
APPLY_LEASE = dt.timedelta(minutes=11)
MAX_APPLY_ATTEMPTS = 3


class RowFailed(Exception):
    def __init__(self, number: int, error: DomainError) -> None:
        super().__init__(f"row {number}: {error.detail}")
        self.number = number
        self.error = error


def _claim(batch_id: int, now: dt.datetime) -> bool:
    fresh = ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.APPROVED).update(
        status=ImportStatus.APPLYING, apply_started_at=now, apply_attempts=F("apply_attempts") + 1, processed_rows=0
    )
    if fresh:
        return True
    stale = ImportBatch.objects.filter(
        pk=batch_id, status=ImportStatus.APPLYING, apply_started_at__lt=now - APPLY_LEASE
    )
    if stale.filter(apply_attempts__gte=MAX_APPLY_ATTEMPTS).update(
        status=ImportStatus.FAILED,
        failure=_("Applying was interrupted %(n)d times; nothing was created.") % {"n": MAX_APPLY_ATTEMPTS},
    ):
        return False
    return stale.update(apply_started_at=now, apply_attempts=F("apply_attempts") + 1, processed_rows=0) == 1


def _given_at(day: str) -> dt.datetime:
    """A consent date from the list: that day, 09:00 Seoul (when the partner's office opens)."""
    return dt.datetime.combine(dt.date.fromisoformat(day), dt.time(9, 0), tzinfo=timezone.get_default_timezone())


def _row_of(rows: list[ImportRow], index: int, exc: RowError) -> RowFailed:
    return RowFailed(rows[index].number, exc.error)


# The share of the apply's progress bar each step ends at (clients, consents, cases, referrals, log).
_STEPS = {"clients": 0.3, "consents": 0.5, "cases": 0.7, "referrals": 0.9, "log": 0.99}


def _apply_rows(user: Any, batch_id: int, rows: list[ImportRow]) -> None:
    """Every row through the same services as a walk-in, each in its bulk form: the rules once per row, the
    statements once per thousand rows. RowFailed names the first row a rule refuses."""
    center_id = user.staff.center_id

    def progress(step: str) -> None:
        cache.set(import_progress_key(batch_id), int(len(rows) * _STEPS[step]), timeout=3600)

    matched = Client.objects.filter(
        center_id=center_id, pk__in=[r.matched_client_id for r in rows if r.matched_client_id]
    ).in_bulk()
    fresh = [r for r in rows if matched.get(r.matched_client_id or 0) is None]
    people = [
        ClientFacts(
            name=r.data["name"],
            birth_date=dt.date.fromisoformat(r.data["birth_date"]),
            phone=r.data["phone"],
            rrn=rrn_decrypt(bytes(r.rrn_ciphertext)) if r.rrn_ciphertext else "",
            gender=r.data.get("gender") or "",
        )
        for r in fresh
    ]
    for r in rows:
        r.client = matched.get(r.matched_client_id or 0)
    for r, (client, created) in zip(fresh, case_services.clients_register_bulk(user=user, people=people), strict=True):
        # Not created: registered since the batch was checked (a walk-in); that client is linked, never a second.
        r.client = client
        r.matched_client_id = None if created else client.pk
    progress("clients")
    consents: list[ConsentRequest] = []
    for r in rows:
        assert r.client is not None  # noqa: S101 - every row got its client just above
        given = _given_at(r.data["consent_date"])
        method = r.data["consent_method"]
        consents.append(ConsentRequest(r.client, ConsentPurpose.COLLECTION, method, (), given))
        consents.append(ConsentRequest(r.client, ConsentPurpose.REFERRAL, method, r.data["consent_kinds"], given))
    try:
        case_services.consents_record_bulk(user=user, items=consents)
    except RowError as exc:
        raise RowFailed(rows[exc.index // 2].number, exc.error) from exc
    progress("consents")
    openings = [
        (
            client,
            CaseOpening(
                channel=Channel.PARTNER,
                needs=needs_parse([{"code": code} for code in r.data["needs"]]),
                note=r.data.get("note") or "",
            ),
        )
        for r, client in ((r, r.client) for r in rows)
        if client is not None
    ]
    cases = case_services.cases_open_bulk(user=user, openings=openings)
    for r, case in zip(rows, cases, strict=True):
        r.case = case
    progress("cases")
    try:
        referrals = referrals_create_bulk(
            by=user,
            rows=[
                BulkReferral(case=case, service_code=r.data["service"], note=r.data.get("note") or "")
                for r, case in zip(rows, cases, strict=True)
            ],
        )
    except RowError as exc:
        raise _row_of(rows, exc.index, exc) from exc
    for r, referral in zip(rows, referrals, strict=True):
        r.referral_id = referral.pk
    progress("referrals")
    # The access log: one entry per client written (registered, or given a consent and a case), chained in
    # row order under one lock.
    case_services.pii_access_log_write(
        user=user,
        clients=[r.client for r in rows if r.client is not None],
        view="import:apply",
        ip_address=None,
        action=AccessAction.CREATE,
        reason=f"partner batch {batch_id}",
    )
    progress("log")


def import_batch_apply(*, batch_id: int) -> ImportBatch | None:
    """Apply an approved batch whole, or not at all. Idempotent: an applied or running batch is left alone."""
    if not _claim(batch_id, timezone.now()):
        return None
    try:
        with translation.override("ko"), transaction.atomic():
            batch = (
                ImportBatch.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("uploaded_by__staff")
                .filter(pk=batch_id, status=ImportStatus.APPLYING)
                .first()
            )
            if batch is None:
                return None  # another worker holds it
            user = batch.uploaded_by
            with registrations_exclusive(center_id=batch.center_id):
                rows = list(batch.rows.order_by("number"))
                _apply_rows(user, batch_id, rows)
            # Each row's outcome: the rows are written anew (one INSERT per thousand rows, not a CASE per row).
            ImportRow.objects.filter(batch_id=batch_id).delete()
            for r in rows:
                r.pk = None
            ImportRow.objects.bulk_create(rows, batch_size=1000)
            batch.status = ImportStatus.APPLIED
            batch.applied_at = timezone.now()
            batch.processed_rows = len(rows)
            batch.matched_rows = sum(1 for r in rows if r.matched_client_id)
            batch.save(update_fields=["status", "applied_at", "processed_rows", "matched_rows", "updated_at"])
            # Routing: one task for the whole batch (one pass, candidates read once per service), after commit.
            enqueue_on_commit(_route_task(), batch_id)
    except RowFailed as exc:
        # Something changed since the batch was checked (a desk closed, an account moved): nothing was created.
        with translation.override("ko"):
            message = _("Row %(row)d: %(message)s Nothing was created; upload a corrected file.") % {
                "row": exc.number,
                "message": exc.error.detail,
            }
        ImportBatch.objects.filter(pk=batch_id, status=ImportStatus.APPLYING).update(
            status=ImportStatus.FAILED, failure=message[:500]
        )
        logger.warning("import batch %s failed at row %s (%s)", batch_id, exc.number, exc.error.code)
        return ImportBatch.objects.get(pk=batch_id)
    finally:
        cache.delete(import_progress_key(batch_id))
    return batch


def _route_task() -> Any:  # noqa: ANN401 - a Celery task
    from referral.tasks import route_import_batch

    return route_import_batch


def import_batch_route(*, batch_id: int) -> int:
    """Route the referrals of an applied batch still waiting for a desk, in one pass (referrals_route)."""
    ids = list(
        ImportRow.objects.filter(
            batch_id=batch_id,
            batch__status=ImportStatus.APPLIED,
            referral_id__isnull=False,
        ).values_list("referral_id", flat=True)
    )
    return referrals_route(referral_ids=[pk for pk in ids if pk is not None])


def import_batches_to_resume(*, now: dt.datetime | None = None, limit: int = 100) -> dict[str, list[int]]:
    """Batches a lost message or a dead worker left behind: still validating, approved, or applying too long."""
    now = now or timezone.now()
    grace = now - dt.timedelta(minutes=1)
    return {
        "validate": list(
            ImportBatch.objects.filter(status=ImportStatus.VALIDATING, updated_at__lt=now - dt.timedelta(minutes=10))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        ),
        "apply": list(
            ImportBatch.objects.filter(
                Q(status=ImportStatus.APPROVED, updated_at__lt=grace)
                | Q(status=ImportStatus.APPLYING, apply_started_at__lt=now - APPLY_LEASE)
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


REPORT_REASON_MAX = 500


def import_report_download(*, user: Any, batch: ImportBatch, reason: object, ip: str | None) -> bytes:
    """The per-row report as a download of personal data: the reason is required and stored with one access
    record (action download) per client in it (PRIVACY.md §8②)."""
    text = text_validate(reason, field="reason", max_length=REPORT_REASON_MAX, required=True)
    rows = import_report_rows(batch)
    case_services.pii_access_log_write(
        user=user,
        clients=[r["client_id"] for r in rows if r["client_id"]],
        view="referral:import_report",
        ip_address=ip,
        action=AccessAction.DOWNLOAD,
        reason=text,
    )
    return _report_xlsx(rows)


def import_report_xlsx(batch: ImportBatch) -> bytes:
    return _report_xlsx(import_report_rows(batch))


def _report_xlsx(rows: list[dict[str, Any]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("결과")
    with translation.override("ko"):
        sheet.append(["행", "내담자 번호", "구분", "연계 번호", "연계 센터", "창구"])
        for r in rows:
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
