"""Partner import pages: upload, the batch's preview and progress, approval, the template files. Thin."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import imports, selectors
from cases.models import ImportStatus
from cases.views import _log, center_staff_required
from centers.selectors import actor_for
from core.errors import DomainError

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@center_staff_required
def import_list(request: HttpRequest) -> HttpResponse:
    batches = selectors.import_batch_list_for(request.user)[:50]
    return render(request, "cases/import_list.html", {"batches": batches, "max_rows": settings.IMPORT_MAX_ROWS})


@require_POST
@center_staff_required
def import_upload(request: HttpRequest) -> HttpResponse:
    upload = request.FILES.get("file")
    if upload is None:
        messages.error(request, _("Choose a CSV or Excel file."))
        return redirect("cases:import_list")
    try:
        if upload.size is not None:
            imports.check_upload_size(upload.size)
        parsed = imports.import_file_parse(content=upload.read(), filename=upload.name or "")
        batch, created = imports.import_batch_create(user=request.user, parsed=parsed, filename=upload.name or "")
    except DomainError as exc:
        messages.error(request, exc.detail)
        return redirect("cases:import_list")
    if not created:
        messages.info(request, _("This file was uploaded before; here is its batch. Nothing new was created."))
    return redirect("cases:import_detail", pk=batch.pk)


@center_staff_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.import_batch_get_for_user(request.user, pk)
    actor = actor_for(request.user)
    matches = selectors.import_rows_matched(batch)
    _log(request, [r.matched_client_id for r in matches if r.matched_client_id], "cases:import_detail")
    can_approve = (
        batch.status in imports.IMPORT_LIFECYCLE["approve"][0]
        and actor.is_manager
        and batch.uploaded_by_id != actor.user_id
    )
    return render(
        request,
        "cases/import_detail.html",
        {
            "batch": batch,
            "errors": imports.errors_for_display(batch.errors),
            "matches": matches,
            "progress": imports.import_progress(batch),
            "working": batch.status in imports.WORKING_STATUSES,
            "can_approve": can_approve,
            "awaiting_other_manager": batch.status == ImportStatus.READY and not can_approve,
            "applied": batch.status == ImportStatus.APPLIED,
        },
    )


@require_POST
@center_staff_required
def import_approve(request: HttpRequest, pk: int) -> HttpResponse:
    batch = selectors.import_batch_get_for_user(request.user, pk)
    try:
        imports.import_batch_approve(user=request.user, batch_id=batch.pk)
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Batch approved. Its rows are being applied."))
    return redirect("cases:import_detail", pk=batch.pk)


@center_staff_required
def import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    if fmt == "csv":
        response = HttpResponse(imports.import_template_csv(), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(imports.import_template_xlsx(), content_type=XLSX)
        fmt = "xlsx"
    response["Content-Disposition"] = f'attachment; filename="yeongye-import-template.{fmt}"'
    return response
