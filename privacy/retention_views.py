"""Pages of retention and the access review, for the privacy officer (Korean by default). Thin."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.models import AccessAction
from centers.models import PermissionChange, Role
from centers.selectors import actor_for
from core.errors import DomainError
from core.http import client_ip
from privacy import access_records
from privacy import selectors_retention as sel
from privacy.access_review import month_start, previous_month, review_note, review_signoff
from privacy.destruction import destruction_approve, retention_hold_set
from privacy.retention import retention_policy
from privacy.retention_models import BatchStatus, KeepBasis


def roles_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if actor_for(request.user).role not in roles:
                raise DjangoPermissionDenied(_("These pages are for the privacy officer."))
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


officer_required = roles_required(Role.PRIVACY_OFFICER)


@officer_required
def destruction_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "privacy/retention/destructions.html",
        {
            "policy": retention_policy(),
            "batches": sel.batches()[:50],
            "ledger": sel.ledger()[:100],
            "holds": sel.holds()[:100],
            "keep_bases": KeepBasis.choices,
        },
    )


@officer_required
def destruction_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = sel.batch_get(pk)
    if batch is None:
        raise Http404
    items = list(batch.items.order_by("status", "client_id", "record_type"))
    can_approve = batch.status == BatchStatus.PROPOSED and batch.proposed_by_id != request.user.pk
    return render(
        request,
        "privacy/retention/destruction_detail.html",
        {"batch": batch, "items": items, "summary": sel.batch_summary(items), "can_approve": can_approve},
    )


@require_POST
@officer_required
def destruction_approve_view(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        destruction_approve(user=request.user, batch_id=pk)
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404 from None
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Approved: the batch is being destroyed. The ledger records it when done."))
    return redirect("retention:destruction_detail", pk=pk)


@require_POST
@officer_required
def hold_add(request: HttpRequest) -> HttpResponse:
    try:
        client_id = int(request.POST.get("client", ""))
    except ValueError:
        messages.error(request, _("Enter the client number."))
        return redirect("retention:destructions")
    until = None
    if request.POST.get("until"):
        try:
            until = dt.date.fromisoformat(request.POST["until"])
        except ValueError:
            messages.error(request, _("Enter the date as YYYY-MM-DD."))
            return redirect("retention:destructions")
    try:
        retention_hold_set(
            user=request.user,
            client_id=client_id,
            basis=request.POST.get("basis", ""),
            note=request.POST.get("note", ""),
            until=until,
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Recorded: this client's records are kept and skipped by destruction."))
    return redirect("retention:destructions")


def _month_param(value: str | None) -> dt.date:
    default = previous_month(month_start(timezone.localdate()))
    if not value:
        return default
    try:
        return dt.date.fromisoformat(f"{value}-01")
    except ValueError:
        return default


@officer_required
def review(request: HttpRequest) -> HttpResponse:
    month = _month_param(request.GET.get("month"))
    data = sel.review_for_page(month)
    this_month = month_start(timezone.localdate())
    return render(
        request,
        "privacy/retention/review.html",
        {
            **data,
            "month": month,
            "prev": previous_month(month),
            "next": (month + dt.timedelta(days=32)).replace(day=1) if month < this_month else None,
            "can_sign": month < this_month and not (data["review"] and data["review"].signed_off_at),
            "reviews": sel.reviews()[:24],
        },
    )


@require_POST
@officer_required
def review_note_view(request: HttpRequest, pk: int) -> HttpResponse:
    month = request.POST.get("month", "")
    try:
        review_note(user=request.user, flag_id=pk, note=request.POST.get("note", ""))
    except DomainError as exc:
        if exc.status_code == 404:
            raise Http404 from None
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("Note saved."))
    return redirect(f"{_review_url()}?month={month}" if month else _review_url())


def _review_url() -> str:
    return reverse("retention:review")


@require_POST
@officer_required
def review_signoff_view(request: HttpRequest) -> HttpResponse:
    month = _month_param(request.POST.get("month"))
    try:
        review_signoff(user=request.user, month=month, conclusion=request.POST.get("conclusion", ""))
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, _("The month is signed off; its review can no longer change."))
    return redirect(f"{_review_url()}?month={month:%Y-%m}")


@roles_required(Role.PRIVACY_OFFICER, Role.ADMIN)
def permission_history(request: HttpRequest) -> HttpResponse:
    rows = PermissionChange.objects.all()
    who = (request.GET.get("user") or "").strip()
    if who:
        rows = rows.filter(subject_username__icontains=who)
    return render(
        request,
        "privacy/retention/permission_history.html",
        {"rows": sel.permission_rows(rows[:200]), "who": who},
    )


# --- The access records (safeguard notice §8) ---

ACCESS_LOG_PAGE_SIZE = 100


def _access_log_context(request: HttpRequest) -> dict[str, Any]:
    try:
        f = access_records.access_log_filter_parse(request.GET)
        error = ""
    except DomainError as exc:
        f, error = access_records.AccessLogFilter(), f"{exc.detail}"
    page = Paginator(access_records.access_log_rows(request.user, f), ACCESS_LOG_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    rows = list(page.object_list)
    for r in rows:
        r.where_label = access_records.screen_label(r.view)  # type: ignore[attr-defined]
    page.object_list = rows
    return {
        "f": f,
        "error": error,
        "page": page,
        "query": urlencode(f.as_query()),
        "actions": AccessAction.choices,
        "usernames": access_records.staff_usernames(),
        "reason_max": access_records.REASON_MAX,
    }


@officer_required
def access_log(request: HttpRequest) -> HttpResponse:
    ctx = _access_log_context(request)
    return render(request, "privacy/retention/access_log.html", ctx, status=400 if ctx["error"] else 200)


@officer_required
def access_log_verify_view(request: HttpRequest) -> HttpResponse:
    """Reads only (the chain is walked, nothing is written): a GET, and the page shows the verdict."""
    ctx = _access_log_context(request)
    ctx["verdict"] = access_records.access_log_verify(request.user)
    return render(request, "privacy/retention/access_log.html", ctx)


@require_POST
@officer_required
def access_log_export_view(request: HttpRequest) -> HttpResponse:
    """A POST: the download writes its records. The filters come with the form; the file answers directly."""
    try:
        f = access_records.access_log_filter_parse(request.POST)
        text = access_records.access_log_export(
            user=request.user, f=f, reason=request.POST.get("reason", ""), ip=client_ip(request)
        )
    except DomainError as exc:
        messages.error(request, exc.detail)
        keep = {k: request.POST.get(k, "") for k in ("user", "client", "action", "from", "to")}
        return redirect(f"{reverse('retention:access_log')}?{urlencode({k: v for k, v in keep.items() if v})}")
    response = HttpResponse(text.encode(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="yeongye-access-log-{timezone.localdate():%Y%m%d}.csv"'
    response["Cache-Control"] = "no-store"
    return response
