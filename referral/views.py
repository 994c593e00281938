"""HTML pages for referrals. Thin: parse the form, call one service or selector, render or redirect."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from centers.models import Service
from centers.selectors import actor_for
from core.errors import DomainError, DuplicateReferral, PermissionDenied
from referral import notifications, selectors, services
from referral.models import CancelReason, DeclineReason, FailReason, Priority

PAGE_SIZE = 50


def _safe_next(request: HttpRequest, fallback: str) -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(
        nxt, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return nxt
    return fallback


def _error_text(exc: DomainError) -> str:
    return str(exc.detail)


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "referral/forbidden.html", {"detail": exc.detail}, status=403)


@login_required
@require_POST
def create(request: HttpRequest) -> HttpResponse:
    fallback = reverse("referral:outgoing")
    target = _safe_next(request, fallback)
    try:
        referral = services.referral_create(
            by=request.user,
            case_id=request.POST.get("case", ""),
            service_code=request.POST.get("service", ""),
            priority=request.POST.get("priority") or Priority.NORMAL,
            note=request.POST.get("note", ""),
        )
    except DuplicateReferral as exc:
        messages.error(
            request,
            format_html(
                '{} <a href="{}">{}</a>',
                _error_text(exc),
                reverse("referral:detail", args=[exc.existing_id]),
                _("Open the existing referral"),
            ),
        )
        return redirect(target)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(target)
    messages.success(
        request,
        _("Referral R%(id)s for %(service)s sent; a desk is being chosen.")
        % {"id": referral.pk, "service": referral.service.name},
    )
    return redirect(target)


def _filters(request: HttpRequest, default_status: str = "") -> selectors.QueueFilters:
    g = request.GET
    return selectors.QueueFilters(
        status=g.get("status", default_status),
        desk=g.get("desk", ""),
        service=g.get("service", ""),
        priority=g.get("priority", ""),
        overdue=g.get("overdue") in ("1", "true", "on"),
        assigned=g.get("assigned", "") if g.get("assigned") in ("mine", "unassigned") else "",
        sort=g.get("sort", "due") if g.get("sort") in ("due", "created", "-created") else "due",
    )


def _rows(request: HttpRequest, qs: Any) -> Any:
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for r in page.object_list:
        r.label = services.status_label(r.status, r.to_desk_id is not None)
        r.overdue = r.next_due is not None and r.next_due < now
    return page


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    try:
        # The work queue opens on what is still open; the status filter shows closed ones on request.
        f = _filters(request, default_status="open")
        qs = selectors.referral_list_for(request.user, box=selectors.INCOMING, filters=f)
        counts = selectors.status_counts(request.user, box=selectors.INCOMING)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    actor = actor_for(request.user)
    page = _rows(request, qs)
    staff = [(s.pk, s.get_full_name() or s.username) for s in selectors.assignable_staff(actor.center_id)]
    # Each row's decline and assign dropdowns list the same options: build that HTML once per page
    # (the per-row template loops were ~5,500 node renders and over half of the page's time).
    staff_options = {pk: _options(staff, selected=pk) for pk, _label in staff}
    no_one = _options(staff)
    for r in page.object_list:
        r.staff_options = staff_options.get(r.assigned_to_id, no_one)
    return render(
        request,
        "referral/queue.html",
        {
            "page": page,
            "f": f,
            "counts": counts,
            "desks": selectors.desks_of_center(request.user),
            "services": Service.objects.all(),
            "staff_options": no_one,
            "decline_options": _options(DeclineReason.choices),
            "priorities": Priority.choices,
            "is_manager": actor.is_manager,
            "status_choices": _status_filter_choices(),
        },
    )


def _options(choices: Iterable[tuple[Any, Any]], selected: object = None) -> SafeString:
    """`<option>` elements (escaped), the one whose value is `selected` marked selected."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, mark_safe(" selected") if value == selected else "", label) for value, label in choices),  # noqa: S308
    )


def _status_filter_choices() -> list[tuple[str, str]]:
    return [
        ("open", _("All open")),
        ("unrouted", services.status_label("requested", False)),
        ("requested", services.status_label("requested", True)),
        *[
            (s, services.status_label(s))
            for s in ("accepted", "in_progress", "on_hold", "completed", "failed", "rejected", "cancelled")
        ],
    ]


@login_required
def outgoing(request: HttpRequest) -> HttpResponse:
    try:
        f = _filters(request)
        qs = selectors.referral_list_for(request.user, box=selectors.OUTGOING, filters=f)
        counts = selectors.status_counts(request.user, box=selectors.OUTGOING)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    page = _rows(request, qs)
    return render(
        request,
        "referral/outgoing.html",
        {
            "page": page,
            "f": f,
            "counts": counts,
            "services": Service.objects.all(),
            "status_choices": _status_filter_choices(),
        },
    )


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        referral = selectors.referral_get_for(request.user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    services.referral_pii_read(
        by=request.user, referral=referral, view="referral:detail", ip=request.META.get("REMOTE_ADDR")
    )
    actor = actor_for(request.user)
    events = list(referral.events.all())
    for e in events:
        e.label = services.status_label(  # type: ignore[attr-defined]
            e.to_status, e.to_status != "requested" or e.kind in ("route", "accept", "assign", "escalate")
        )
    needs = (
        list(referral.case.needs.filter(domain=referral.service.domain))
        if actor.center_id == referral.from_center_id or actor.center_id == referral.to_center_id
        else []
    )
    return render(
        request,
        "referral/detail.html",
        {
            "r": referral,
            "label": services.status_label(referral.status, referral.to_desk_id is not None),
            "events": events,
            "routing": selectors.routing_of(referral),
            "actions": services.allowed_actions(referral, actor),
            "needs": needs,
            "is_sender": actor.center_id == referral.from_center_id,
            "outcomes": list(referral.service.outcomes.all()),
            "decline_reasons": DeclineReason.choices,
            "fail_reasons": FailReason.choices,
            "cancel_reasons": [c for c in CancelReason.choices if c[0] != CancelReason.CONSENT_WITHDRAWN],
            "staff": list(selectors.assignable_staff(referral.to_center_id))
            if actor.center_id == referral.to_center_id
            else [],
            "is_manager": actor.is_manager,
        },
    )


def _detail_payload(post: Any) -> dict[str, Any]:
    detail = {}
    for key in ("loan_amount", "employer", "benefit_type", "program"):
        value = (post.get(f"detail_{key}") or "").strip()
        if value:
            detail[key] = value
    return detail


ACTIONS = {
    "accept": lambda req, pk: services.referral_accept(
        referral_id=pk, by=req.user, assigned_to=req.POST.get("assigned_to") or None
    ),
    "decline": lambda req, pk: services.referral_decline(
        referral_id=pk, by=req.user, reason=req.POST.get("reason", ""), note=req.POST.get("note", "")
    ),
    "assign": lambda req, pk: services.referral_assign(
        referral_id=pk, by=req.user, assigned_to=req.POST.get("assigned_to")
    ),
    "start": lambda req, pk: services.referral_start(referral_id=pk, by=req.user, note=req.POST.get("note", "")),
    "hold": lambda req, pk: services.referral_hold(referral_id=pk, by=req.user, note=req.POST.get("note", "")),
    "resume": lambda req, pk: services.referral_resume(referral_id=pk, by=req.user, note=req.POST.get("note", "")),
    "complete": lambda req, pk: services.referral_complete(
        referral_id=pk,
        by=req.user,
        outcome=req.POST.get("outcome", ""),
        achieved={"yes": True, "no": False}.get(req.POST.get("achieved", "")),
        detail=_detail_payload(req.POST),
        note=req.POST.get("note", ""),
    ),
    "fail": lambda req, pk: services.referral_fail(
        referral_id=pk, by=req.user, reason=req.POST.get("reason", ""), note=req.POST.get("note", "")
    ),
    "cancel": lambda req, pk: services.referral_cancel(
        referral_id=pk, by=req.user, reason=req.POST.get("reason", ""), note=req.POST.get("note", "")
    ),
}


@login_required
@require_POST
def act(request: HttpRequest, pk: int, action: str) -> HttpResponseBase:
    target = _safe_next(request, reverse("referral:detail", args=[pk]))
    call = ACTIONS.get(action)
    if call is None:
        messages.error(request, _("Unknown action."))
        return redirect(target)
    try:
        selectors.referral_check_visible(request.user, pk)
        call(request, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(target)
    messages.success(request, _("%(action)s: done.") % {"action": services.action_label(action)})
    if (
        target == reverse("referral:detail", args=[pk])
        and not selectors.referrals_visible_to(request.user).filter(pk=pk).exists()
    ):
        # Declined and handed back to routing: the referral left this center, its page would be a 404.
        target = reverse("referral:queue")
    return redirect(target)


@login_required
@require_POST
def bulk_assign(request: HttpRequest) -> HttpResponse:
    target = _safe_next(request, reverse("referral:queue"))
    ids = [int(v) for v in request.POST.getlist("ids") if v.isdigit()]
    if not ids:
        messages.error(request, _("Select at least one referral."))
        return redirect(target)
    try:
        visible = set(
            selectors.referral_list_for(request.user, box=selectors.INCOMING)
            .filter(pk__in=ids)
            .values_list("pk", flat=True)
        )
        done = services.referral_assign_bulk(
            referral_ids=visible, by=request.user, assigned_to=request.POST.get("assigned_to")
        )
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(target)
    messages.success(request, _("%(n)s referrals assigned.") % {"n": done})
    return redirect(target)


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        raw = request.POST.get("id", "")
        notifications.notification_mark_read(
            user_id=request.user.pk or 0, notification_id=int(raw) if raw.isdigit() else None
        )
        return redirect("referral:notifications")
    # A GET changes nothing: what is new stays new until the user marks it read (a POST).
    rows = notifications.notifications_for(request.user.pk or 0)
    return render(request, "referral/notifications.html", {"rows": rows, "unread": any(not n.read_at for n in rows)})


@login_required
def import_report(request: HttpRequest, pk: int) -> HttpResponse:
    """The per-row report of an applied partner batch (client number, matched or new, referral, desk)."""
    from cases.selectors import import_batch_get_for_user, pii_actor
    from referral.imports import import_report_xlsx

    try:
        pii_actor(request.user)
    except PermissionDenied as exc:
        return render(request, "referral/forbidden.html", {"detail": exc.detail}, status=403)
    batch = import_batch_get_for_user(request.user, pk)
    if batch.status != "applied":
        messages.error(request, _("The report is ready once the batch has been applied."))
        return redirect("cases:import_detail", pk=batch.pk)
    response = HttpResponse(
        import_report_xlsx(batch), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="yeongye-import-{batch.pk}-report.xlsx"'
    return response
