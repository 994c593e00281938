"""Intake, client, case pages. Thin: parse, call one service or selector, render."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases import selectors, services
from cases.forms import CloseForm, ConsentForm, IntakeForm, NoteForm
from cases.inputs import SITUATION_FIELDS
from cases.models import CaseStatus, Client, ConsentPurpose
from cases.needs import needs_by_domain
from cases.services import CONSENT_RETENTION_YEARS
from centers.selectors import actor_for
from core.errors import DomainError, DuplicateClient
from core.http import client_ip


def center_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged-in counselors and managers only; ministry and admin get 403 on every personal-data page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not actor_for(request.user).is_center_staff:
            raise DjangoPermissionDenied(_("Your role has no access to personal data."))
        return view(request, *args, **kwargs)

    return wrapper


def _log(request: HttpRequest, clients: Any, view: str) -> None:
    services.pii_access_log_write(user=request.user, clients=clients, view=view, ip_address=client_ip(request))


def _intake_context(request: HttpRequest, form: IntakeForm, selected: Client | None, **extra: Any) -> dict[str, Any]:
    selected_needs = set(form["needs"].value() or [])
    return {
        "form": form,
        "selected": selected,
        "needs_by_domain": needs_by_domain(),
        "selected_needs": selected_needs,
        "retention_years": CONSENT_RETENTION_YEARS,
        **extra,
    }


def _search_swap(request: HttpRequest) -> bool:
    """The intake page's own htmx search, which swaps only its section; not a history restore (htmx asks for
    the whole page when its snapshot of an earlier search is gone)."""
    htmx = getattr(request, "htmx", None)
    if not htmx:
        return False
    return htmx.target == "client-search" and not htmx.history_restore_request


@center_staff_required
def intake(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:50]
    results: list[Client] = []
    selected: Client | None = None
    client_id = request.POST.get("client") if request.method == "POST" else request.GET.get("client")
    if client_id:
        selected = selectors.client_get_for_user(request.user, client_id)

    if request.method == "POST":
        form = IntakeForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            assert form.client_facts is not None and form.case_opening is not None  # set by a valid form  # noqa: S101
            try:
                case = services.intake_record(
                    user=request.user,
                    client=selected,
                    facts=form.client_facts,
                    collection_consent=bool(data["collection_consent"]),
                    referral_kinds=data["referral_kinds"],
                    consent_method=data["consent_method"],
                    opening=form.case_opening,
                )
            except DuplicateClient as dup:
                duplicate = selectors.client_get_for_user(request.user, dup.existing_id)
                _log(request, [duplicate], "cases:intake")
                ctx = _intake_context(request, form, None, duplicate=duplicate, q=q)
                return render(request, "cases/intake.html", ctx, status=409)
            except DomainError as exc:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, exc.detail)
            else:
                messages.success(request, _("Intake saved. Case #%(id)s opened.") % {"id": case.pk})
                return redirect("cases:case_detail", pk=case.pk)
        if selected is not None:
            _log(request, [selected], "cases:intake")
        return render(request, "cases/intake.html", _intake_context(request, form, selected, q=q), status=400)

    initial: dict[str, Any] = {}
    if selected is not None:
        initial = {f: getattr(selected, f) for f in SITUATION_FIELDS}
        initial.update(client=selected.pk, region=selected.region.code if selected.region else None)
        _log(request, [selected], "cases:intake")
    if q:
        results = selectors.client_search(request.user, q)
        _log(request, results, "cases:client_search")
    if _search_swap(request) and selected is None:
        # The search section alone: the page around it stays as the counselor left it (typed fields too).
        return render(request, "cases/_client_search.html", {"q": q, "results": results, "selected": None})
    form = IntakeForm(initial=initial)
    return render(request, "cases/intake.html", _intake_context(request, form, selected, q=q, results=results))


@center_staff_required
def client_detail(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.client_detail_for_user(request.user, pk)
    _log(request, [client], "cases:client_detail")
    return render(
        request,
        "cases/client_detail.html",
        {
            "client": client,
            "timeline": selectors.client_notes_timeline(client),
            "consent_form": ConsentForm(),
            "today": timezone.localdate(),
        },
    )


@center_staff_required
def case_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", CaseStatus.OPEN)
    if status not in (*CaseStatus.values, "all"):
        status = CaseStatus.OPEN
    mine = request.GET.get("mine", "1") != "0"
    qs = selectors.case_list_for(request.user, status=None if status == "all" else status, mine=mine)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "cases/case_list.html",
        {"page": page, "status": status, "mine": mine, "statuses": CaseStatus.choices},
    )


@center_staff_required
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get_for_user(request.user, pk)
    _log(request, [case.client_id], "cases:case_detail")
    return render(
        request,
        "cases/case_detail.html",
        {
            "case": case,
            "client": case.client,
            "note_form": NoteForm(),
            "close_form": CloseForm(),
        },
    )


def _submit(request: HttpRequest, form: forms.Form | None, action: Callable[[], Any], success: str) -> None:
    """Validate the form (if any), run one service call, and say how it went as a page message."""
    if form is not None and not form.is_valid():
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
        return
    try:
        action()
    except DomainError as exc:
        messages.error(request, exc.detail)
    else:
        messages.success(request, success)


@require_POST
@center_staff_required
def case_note_add(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get_for_user(request.user, pk)
    form = NoteForm(request.POST)
    _submit(
        request,
        form,
        lambda: services.case_note_add(user=request.user, case=case, text=form.cleaned_data["text"]),
        _("Note added."),
    )
    return redirect("cases:case_detail", pk=case.pk)


@require_POST
@center_staff_required
def case_close(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get_for_user(request.user, pk)
    form = CloseForm(request.POST)
    _submit(
        request, form, lambda: services.case_close(user=request.user, case=case, **form.cleaned_data), _("Case closed.")
    )
    return redirect("cases:case_detail", pk=case.pk)


@require_POST
@center_staff_required
def consent_add(request: HttpRequest, pk: int) -> HttpResponse:
    client = selectors.client_get_for_user(request.user, pk)
    form = ConsentForm(request.POST)
    _submit(
        request,
        form,
        lambda: services.consent_record(
            user=request.user,
            client=client,
            purpose=ConsentPurpose.REFERRAL,
            method=form.cleaned_data["method"],
            organization_kinds=form.cleaned_data["organization_kinds"],
        ),
        _("Consent recorded."),
    )
    return redirect("cases:client_detail", pk=client.pk)


@require_POST
@center_staff_required
def consent_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    consent = selectors.consent_get_for_user(request.user, pk)
    _submit(
        request,
        None,
        lambda: services.consent_withdraw(user=request.user, consent=consent),
        _("Consent withdrawn. Open referrals that relied on it are cancelled."),
    )
    return redirect("cases:client_detail", pk=consent.client_id)
