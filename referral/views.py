"""HTML pages for referrals. Thin: parse the form, call one service or selector, render or redirect."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_htmx.middleware import HtmxDetails

from cases.selectors import case_row_for_user, pii_actor
from centers.models import Service, staff_name
from centers.selectors import actor_for
from core.errors import DomainError, DuplicateReferral, InvalidInput, PermissionDenied
from core.http import client_ip
from jobs.selectors import postings_latest_low_risk
from referral import lifecycle, notifications, selectors, services
from referral.lifecycle import Action, ActionInput, status_label
from referral.models import OPEN_STATUSES, Priority
from referral.slip import slip_filename, slip_pdf
from referral.templatetags.referral_case import any_open, case_referral_rows
from referral.templatetags.referral_labels import appointment_time

PAGE_SIZE = 50
# The slot picker shows the next days the desk has a free place on, every free slot of each.
PICKER_DAYS = 5


class StaffRequest(HttpRequest):
    """A request to these pages: signed in (login_required) and through django-htmx's middleware
    (`request.htmx` is falsy unless htmx sent it)."""

    user: User
    htmx: HtmxDetails


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
def create(request: StaffRequest) -> HttpResponse:
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


def _referral_rows(post: Any) -> list[services.ReferralRequest]:
    """The case page's suggestion rows (one service, priority and note each, in order); with `only`,
    the one row whose own button was pressed."""
    codes, priorities, notes = post.getlist("service"), post.getlist("priority"), post.getlist("note")
    if not (len(codes) == len(priorities) == len(notes)):
        return []
    rows = [
        services.ReferralRequest(service_code=c, priority=p or Priority.NORMAL, note=n)
        for c, p, n in zip(codes, priorities, notes, strict=True)
    ]
    only = post.get("only")
    return [r for r in rows if r.service_code == only] if only else rows


@login_required
@require_POST
def create_many(request: StaffRequest) -> HttpResponse:
    """The case page's suggestions, sent in one POST: all of them or, on a domain error, none."""
    target = _safe_next(request, reverse("referral:outgoing"))
    try:
        created = services.referral_create_many(
            by=request.user, case_id=request.POST.get("case", ""), rows=_referral_rows(request.POST)
        )
    except DuplicateReferral as exc:
        messages.error(
            request,
            format_html(
                '{} {} <a href="{}">{}</a>',
                _error_text(exc),
                _("Nothing was sent."),
                reverse("referral:detail", args=[exc.existing_id]),
                _("Open the existing referral"),
            ),
        )
        return redirect(target)
    except DomainError as exc:
        messages.error(request, f"{_error_text(exc)} {_('Nothing was sent.')}")
        return redirect(target)
    if len(created) == 1:
        messages.success(
            request,
            _("Referral R%(id)s for %(service)s sent; a desk is being chosen.")
            % {"id": created[0].pk, "service": created[0].service.name},
        )
    else:
        messages.success(
            request,
            _("%(n)s referrals sent (%(ids)s); desks are being chosen.")
            % {"n": len(created), "ids": ", ".join(f"R{r.pk}" for r in created)},
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


@dataclass(frozen=True)
class RowButton:
    """One action of the lifecycle table on a queue row, with its one required input, if any."""

    action: Action
    field: str = ""  # "reason" or "assigned_to"
    options: SafeString | str = ""


def _rows(request: HttpRequest, qs: Any) -> Any:
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    _label(page.object_list)
    return page


def _label(rows: Iterable[Any]) -> None:
    now = timezone.now()
    for r in rows:
        r.label = status_label(r.status, r.to_desk_id is not None)
        r.overdue = r.next_due is not None and r.next_due < now


def _staff_choices(request: HttpRequest) -> list[tuple[int, str]]:
    """Whom the user may name as assignee on the queue (all the center's staff for a manager, else themselves)."""
    center_id = actor_for(request.user).center_id
    return [(s.pk, staff_name(s)) for s in selectors.assignable_staff_for(request.user, center_id)]


def _queue_buttons(request: HttpRequest, rows: Iterable[Any], staff: list[tuple[int, str]]) -> None:
    """Each row's actions, as the lifecycle table allows them to this user: the queue offers those marked
    `in_queue`, with only their required input (the referral's page has the rest)."""
    actor = actor_for(request.user)
    # Each row's dropdowns list the same options: build that HTML once per page (the per-row template
    # loops were ~5,500 node renders and over half of the page's time).
    staff_options = {pk: _options(staff, selected=pk) for pk, _label in staff}
    no_one = _options(staff)
    reason_options = {a.code: _options(a.reason_choices) for a in lifecycle.USER_ACTIONS if a.reasons}
    for r in rows:
        buttons = []
        for a in services.lifecycle_actions_for(r, actor):
            if not a.in_queue:
                continue
            if a.reasons is not None:
                buttons.append(RowButton(a, "reason", reason_options[a.code]))
            elif a.assignee_required:
                buttons.append(RowButton(a, "assigned_to", staff_options.get(r.assigned_to_id, no_one)))
            else:
                buttons.append(RowButton(a))
        r.buttons = buttons


def _count_rows(counts: dict[str, int]) -> list[tuple[str, str, int]]:
    return [(key, status_label(key), counts.get(key, 0)) for key in lifecycle.STATUS_FILTERS]


@login_required
def queue(request: StaffRequest) -> HttpResponse:
    try:
        # The work queue opens on what is still open; the status filter shows closed ones on request.
        f = _filters(request, default_status="open")
        qs = selectors.referral_list_for(request.user, box=selectors.INCOMING, filters=f)
        counts = selectors.status_counts(request.user, box=selectors.INCOMING) if not _polled(request) else {}
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    actor = actor_for(request.user)
    page = _rows(request, qs)
    staff = _staff_choices(request)
    _queue_buttons(request, page.object_list, staff)
    if _polled(request):
        return render(request, "referral/_queue_table.html", {"page": page})
    return render(
        request,
        "referral/queue.html",
        {
            "page": page,
            "f": f,
            "counts": counts,
            "count_rows": _count_rows(counts),
            "desks": selectors.desks_of_center(request.user),
            "services": Service.objects.all(),
            "staff_options": _options(staff),
            "priorities": Priority.choices,
            "is_manager": actor.is_manager,
            "status_choices": _status_filter_choices(),
        },
    )


def _polled(request: StaffRequest) -> bool:
    """An htmx poll of a list's table (the page re-reads only the table every few seconds)."""
    return bool(request.htmx) and request.htmx.target in ("queue-table", "outgoing-table")


def _options(choices: Iterable[tuple[Any, Any]], selected: object = None) -> SafeString:
    """`<option>` elements (escaped), the one whose value is `selected` marked selected."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((value, mark_safe(" selected") if value == selected else "", label) for value, label in choices),  # noqa: S308
    )


def _status_filter_choices() -> list[tuple[str, str]]:
    return [("open", _("All open")), *[(key, status_label(key)) for key in lifecycle.STATUS_FILTERS]]


@login_required
def outgoing(request: StaffRequest) -> HttpResponse:
    try:
        f = _filters(request)
        qs = selectors.referral_list_for(request.user, box=selectors.OUTGOING, filters=f)
        counts = selectors.status_counts(request.user, box=selectors.OUTGOING) if not _polled(request) else {}
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    page = _rows(request, qs)
    if _polled(request):
        return render(request, "referral/_outgoing_table.html", {"page": page})
    return render(
        request,
        "referral/outgoing.html",
        {
            "page": page,
            "f": f,
            "counts": counts,
            "count_rows": _count_rows(counts),
            "services": Service.objects.all(),
            "status_choices": _status_filter_choices(),
        },
    )


@login_required
@require_GET
def case_referrals_live(request: StaffRequest, pk: int) -> HttpResponse:
    """The case page's referrals table alone: htmx re-reads it while a referral is open (routed, accepted,
    a first meeting booked by the desk show up without a reload). No personal data of the client is in it."""
    try:
        pii_actor(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    case = case_row_for_user(request.user, pk)
    referrals = case_referral_rows(request.user, case)
    return render(
        request,
        "referral/_case_referral_table.html",
        {"case": case, "referrals": referrals, "live": any_open(referrals)},
    )


@login_required
def detail(request: StaffRequest, pk: int) -> HttpResponse:
    try:
        referral = selectors.referral_get_for(request.user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    services.referral_pii_read(by=request.user, referral=referral, view="referral:detail", ip=client_ip(request))
    actor = actor_for(request.user)
    needs = (
        list(referral.case.needs.filter(domain=referral.service.domain))
        if actor.center_id == referral.from_center_id or actor.center_id == referral.to_center_id
        else []
    )
    actions = services.lifecycle_actions_for(referral, actor)
    appointment = services.active_appointment(referral)
    can_book = _can_book(request, referral)
    # Accepting at the receiving desk may book the first meeting in the same form.
    accept_slots = (
        selectors.next_free_slots(referral.to_desk, limit=40)
        if referral.to_desk is not None and appointment is None and any(a.code == "accept" for a in actions)
        else []
    )
    return render(
        request,
        "referral/detail.html",
        {
            "appointment": appointment,
            "can_book": can_book,
            "accept_slots": accept_slots,
            "r": referral,
            "label": status_label(referral.status, referral.to_desk_id is not None),
            "events": list(referral.events.all()),
            "routing": selectors.routing_of(referral),
            "actions": actions,
            "needs": needs,
            "is_sender": actor.center_id == referral.from_center_id,
            "outcomes": list(referral.service.outcomes.all()) if any(a.outcome for a in actions) else [],
            "staff": list(selectors.assignable_staff_for(request.user, referral.to_center_id))
            if any(a.takes_assignee for a in actions)
            else [],
            "is_manager": actor.is_manager,
            "outcome_name": referral.service.outcomes.filter(code=referral.outcome)
            .values_list("name", flat=True)
            .first()
            if referral.outcome
            else "",
            **_postings_context(request, referral),
        },
    )


def _postings_context(request: StaffRequest, referral: Any) -> dict[str, Any]:
    """The offered postings with their risks, and the offer form's choices (job placement referrals only)."""
    if referral.service.code != services.JOB_PLACEMENT:
        return {"is_placement": False}
    can_offer = referral.status in OPEN_STATUSES
    return {
        "is_placement": True,
        "offered": list(referral.postings.all()),
        "can_offer": can_offer,
        "low_risk": postings_latest_low_risk(request.user) if can_offer else [],
    }


def _risky_text(exc: DomainError) -> str:
    """The 409 `risky_posting` as a page message: which postings, and why each needs a reason."""
    why_labels = {
        "risk_high": _("high risk"),
        "risk_medium": _("medium risk"),
        "suspect_employer": _("suspect workplace"),
    }
    rows = [
        f"#{p['id']} ({', '.join(str(why_labels.get(w, w)) for w in p['why'])})" for p in exc.extra.get("postings", [])
    ]
    return f"{exc.detail} {'; '.join(rows)}"


@login_required
@require_POST
def offer_postings(request: StaffRequest, pk: int) -> HttpResponseBase:
    target = reverse("referral:detail", args=[pk])
    typed = [t for t in re.split(r"[\s,]+", request.POST.get("posting_ids", "")) if t]
    try:
        selectors.referral_check_visible(request.user, pk)
        services.referral_offer_postings(
            by=request.user,
            referral_id=pk,
            posting_ids=[*request.POST.getlist("postings"), *typed],
            reason=request.POST.get("reason", ""),
        )
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, _risky_text(exc) if exc.code == "risky_posting" else _error_text(exc))
        return redirect(target)
    messages.success(request, _("Job postings offered."))
    return redirect(target)


@login_required
def slip(request: StaffRequest, pk: int) -> HttpResponse:
    """The referral slip to print for the client (a PDF shown inline); printing is an access record."""
    try:
        referral = selectors.referral_get_for_slip(request.user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    pdf = slip_pdf(referral)
    services.referral_slip_print(by=request.user, referral=referral, view="referral:slip", ip=client_ip(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{slip_filename(referral)}"'
    return response


def _form_input(post: Any) -> ActionInput:
    """A page's action form, parsed once; the action reads the fields it takes (Action.input_names)."""
    detail = {}
    for key in ("loan_amount", "employer", "benefit_type", "program"):
        value = (post.get(f"detail_{key}") or "").strip()
        if value:
            detail[key] = value
    return ActionInput(
        reason=post.get("reason", ""),
        note=post.get("note", ""),
        outcome=post.get("outcome", ""),
        achieved={"yes": True, "no": False}.get(post.get("achieved", "")),
        detail=detail,
        assigned_to=post.get("assigned_to") or None,
        employer_posting=post.get("employer_posting") or None,
        warning_reason=post.get("warning_reason", ""),
    )


@login_required
@require_POST
def act(request: StaffRequest, pk: int, action: str) -> HttpResponseBase:
    target = _safe_next(request, reverse("referral:detail", args=[pk]))
    spec = lifecycle.user_action(action)
    if spec is None:
        messages.error(request, _("Unknown action."))
        return redirect(target)
    done = _("%(action)s: done.") % {"action": spec.label}
    try:
        selectors.referral_check_visible(request.user, pk)
        services.referral_act(referral_id=pk, by=request.user, action=spec.code, inputs=_form_input(request.POST))
    except PermissionDenied as exc:
        return _forbidden(request, exc)  # htmx leaves the row as it was on a 403
    except DomainError as exc:
        if request.htmx:
            return _queue_row(request, pk, error=_error_text(exc))
        messages.error(request, _error_text(exc))
        return redirect(target)
    if request.htmx:
        return _queue_row(request, pk, done=done)
    messages.success(request, done)
    if spec.code == "accept" and request.POST.get("appointment_start"):
        _book_on_accept(request, pk, request.POST["appointment_start"])
    if (
        target == reverse("referral:detail", args=[pk])
        and not selectors.referrals_visible_to(request.user).filter(pk=pk).exists()
    ):
        # Declined and handed back to routing: the referral left this center, its page would be a 404.
        target = reverse("referral:queue")
    return redirect(target)


def _book_on_accept(request: StaffRequest, pk: int, raw: str) -> None:
    """The accept form's optional first meeting: booked after the acceptance (which stands if the slot
    was taken meanwhile: the message says so and the referral page offers the other slots)."""
    start = _parse_start(raw)
    try:
        if start is None:
            raise InvalidInput(_("Choose a time from the list."), field="start")
        services.appointment_book(by=request.user, referral_id=pk, start=start)
    except DomainError as exc:
        messages.error(request, f"{_('Accepted, but the appointment was not booked:')} {_error_text(exc)}")
        return
    messages.success(
        request, _("Appointment booked for R%(id)s: %(when)s.") % {"id": pk, "when": appointment_time(start)}
    )


def _queue_row(request: StaffRequest, pk: int, *, done: str = "", error: str = "") -> HttpResponse:
    """The queue row of one referral after a row action (htmx swaps it in place of the old row); empty
    when the referral left the center's queue (declined and sent on to another center)."""
    rows = list(selectors.referral_list_for(request.user, box=selectors.INCOMING).filter(pk=pk))
    if not rows:
        return HttpResponse("")
    _label(rows)
    _queue_buttons(request, rows, _staff_choices(request))
    return render(
        request,
        "referral/_queue_row.html",
        {"r": rows[0], "done": done, "error": error, "next_path": _safe_next(request, reverse("referral:queue"))},
    )


@login_required
@require_POST
def bulk_assign(request: StaffRequest) -> HttpResponse:
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
    from referral.imports import REPORT_REASON_MAX, import_report_download

    try:
        pii_actor(request.user)
    except PermissionDenied as exc:
        return render(request, "referral/forbidden.html", {"detail": exc.detail}, status=403)
    batch = import_batch_get_for_user(request.user, pk)
    if batch.status != "applied":
        messages.error(request, _("The report is ready once the batch has been applied."))
        return redirect("cases:import_detail", pk=batch.pk)
    reason = request.GET.get("reason")
    error = ""
    if reason is not None:
        try:
            content = import_report_download(user=request.user, batch=batch, reason=reason, ip=client_ip(request))
        except DomainError as exc:
            error = exc.detail
        else:
            response = HttpResponse(
                content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            )
            response["Content-Disposition"] = f'attachment; filename="yeongye-import-{batch.pk}-report.xlsx"'
            return response
    # The report holds personal data: its download asks why, and the reason is kept with the access record.
    return render(
        request,
        "referral/import_report_reason.html",
        {"batch": batch, "reason": reason or "", "error": error, "max_length": REPORT_REASON_MAX},
    )


# --- Appointments ---


def _can_book(request: StaffRequest, referral: Any) -> bool:
    return lifecycle.may_book(
        actor_for(request.user),
        status=referral.status,
        routed=referral.to_desk_id is not None,
        from_center_id=referral.from_center_id,
        to_center_id=referral.to_center_id,
    )


@login_required
def appointment_slots(request: StaffRequest, pk: int) -> HttpResponse:
    """The slot picker: the receiving desk's next slots with a place left, each a button that books it.
    htmx swaps it into the case or referral page; without htmx it is a page of its own."""
    try:
        referral = selectors.referral_get_for_slip(request.user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    desk = referral.to_desk
    can_book = desk is not None and _can_book(request, referral)
    free = selectors.next_free_slots(desk) if can_book and desk is not None else []
    days: dict[Any, list[Any]] = {}
    for slot in free:
        day = timezone.localtime(slot.start).date()
        if day in days or len(days) < PICKER_DAYS:
            days.setdefault(day, []).append(slot)
    context = {
        "r": referral,
        "desk": desk,
        "can_book": can_book,
        "days": list(days.values()),
        "current": services.active_appointment(referral),
        "next_path": _safe_next(request, reverse("referral:detail", args=[pk])),
    }
    # Picked from the case page: booking swaps only its referrals section (no page load, the message with it).
    context["on_case_page"] = bool(request.htmx) and context["next_path"] == reverse(
        "cases:case_detail", args=[referral.case_id]
    )
    template = "referral/_slot_picker.html" if request.htmx else "referral/slot_picker.html"
    return render(request, template, context)


def _parse_start(raw: str) -> Any:
    import datetime as dt

    try:
        start = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return start if start.tzinfo is not None else None


@login_required
@require_POST
def appointment_book(request: StaffRequest, pk: int) -> HttpResponseBase:
    target = _safe_next(request, reverse("referral:detail", args=[pk]))
    start = _parse_start(request.POST.get("start", ""))
    try:
        selectors.referral_check_visible(request.user, pk)
        if start is None:
            messages.error(request, _("Choose a time from the list."))
            return redirect(target)
        services.appointment_book(by=request.user, referral_id=pk, start=start)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(target)
    messages.success(
        request,
        _("Appointment booked for R%(id)s: %(when)s.") % {"id": pk, "when": appointment_time(start)},
    )
    return redirect(target)


@login_required
@require_POST
def appointment_cancel(request: StaffRequest, pk: int) -> HttpResponseBase:
    target = _safe_next(request, reverse("referral:detail", args=[pk]))
    try:
        selectors.referral_check_visible(request.user, pk)
        services.appointment_cancel(by=request.user, referral_id=pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, _error_text(exc))
        return redirect(target)
    messages.success(request, _("Appointment cancelled; the slot is free again."))
    return redirect(target)


@login_required
def appointments_day(request: StaffRequest) -> HttpResponse:
    """The day's appointments at the desks of the user's center: whom to expect, when, at which desk."""
    import datetime as dt

    today = timezone.localdate()
    try:
        day = dt.date.fromisoformat(request.GET.get("date", "")) if request.GET.get("date") else today
    except ValueError:
        day = today
    raw_desk = request.GET.get("desk", "")
    try:
        desks = list(selectors.desks_of_center(request.user))
        desk_id = int(raw_desk) if raw_desk.isdigit() and any(d.pk == int(raw_desk) for d in desks) else None
        rows = selectors.appointments_of_day(request.user, day=day, desk_id=desk_id)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    for a in rows:
        a.referral.label = status_label(a.referral.status, a.referral.to_desk_id is not None)  # type: ignore[attr-defined]
    services.appointments_pii_read(
        by=request.user, client_ids=[a.referral.client_id for a in rows], ip=client_ip(request)
    )
    return render(
        request,
        "referral/appointments_day.html",
        {
            "day": day,
            "today": today,
            "previous": day - dt.timedelta(days=1),
            "following": day + dt.timedelta(days=1),
            "rows": rows,
            "desks": desks,
            "desk_id": desk_id,
        },
    )
