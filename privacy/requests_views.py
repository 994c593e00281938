"""Pages of the person's requests (Korean by default): the queue, one request with its answer, the form that
records a request from the client's page. Thin: privacy.requests decides; domain errors become messages."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cases.selectors import client_get_for_user
from centers.models import Role
from centers.selectors import actor_for
from core.errors import DomainError, NotFound, PermissionDenied
from core.http import client_ip
from privacy import requests as svc
from privacy.requests_api import report_response
from privacy.requests_models import (
    Decision,
    IdentityCheck,
    RefusalReason,
    RequestKind,
    RequestStatus,
)


def _staff_or_officer(request: HttpRequest) -> None:
    actor = actor_for(request.user)
    if actor.role != Role.PRIVACY_OFFICER and not actor.is_center_staff:
        raise DjangoPermissionDenied(_("Your role has no access to the person's requests."))


@login_required
def request_list(request: HttpRequest) -> HttpResponse:
    _staff_or_officer(request)
    qs = svc.request_list_for(request.user)
    status = request.GET.get("status", RequestStatus.OPEN)
    if status not in (*RequestStatus.values, "all"):
        status = RequestStatus.OPEN
    if status != "all":
        qs = qs.filter(status=status)
    overdue = request.GET.get("overdue") == "1"
    if overdue:
        qs = svc.request_overdue(qs)
    page = Paginator(qs.order_by("due_at", "pk"), 50).get_page(request.GET.get("page"))
    now = timezone.now()
    return render(
        request,
        "privacy/requests/list.html",
        {
            "page": page,
            "status": status,
            "overdue": overdue,
            "statuses": RequestStatus.choices,
            "now": now,
            "soon": now + dt.timedelta(days=3),
            "officer": actor_for(request.user).role == Role.PRIVACY_OFFICER,
        },
    )


def _get(request: HttpRequest, pk: int) -> Any:
    try:
        return svc.request_get_for(request.user, pk)
    except NotFound:
        raise Http404 from None
    except PermissionDenied as e:
        raise DjangoPermissionDenied(e.detail) from None


@login_required
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_or_officer(request)
    req = _get(request, pk)
    return render(
        request,
        "privacy/requests/detail.html",
        {
            "req": req,
            "can_answer": req.status == RequestStatus.OPEN and svc.can_answer(request.user, req),
            "decisions": Decision.choices,
            "reasons": RefusalReason.choices,
            "overdue": req.status == RequestStatus.OPEN and req.due_at < timezone.now(),
        },
    )


@login_required
@require_POST
def request_answer(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_or_officer(request)
    req = _get(request, pk)
    try:
        svc.subject_request_answer(
            user=request.user,
            request_id=req.pk,
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
            answer=request.POST.get("answer", ""),
        )
    except PermissionDenied as e:
        raise DjangoPermissionDenied(e.detail) from None
    except DomainError as e:
        messages.error(request, e.detail)
        return redirect("privacy:request_detail", pk=req.pk)
    messages.success(request, _("The answer is recorded."))
    return redirect("privacy:request_detail", pk=req.pk)


@login_required
def request_report(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_or_officer(request)
    try:
        return report_response(request.user, pk, client_ip(request))
    except NotFound:
        raise Http404 from None
    except PermissionDenied as e:
        raise DjangoPermissionDenied(e.detail) from None


@login_required
def request_new(request: HttpRequest, client_id: int) -> HttpResponse:
    """The form on the client's behalf (counselors and managers of the client's center)."""
    if not actor_for(request.user).is_center_staff:
        raise DjangoPermissionDenied(_("Your role has no access to personal data."))
    client = client_get_for_user(request.user, client_id)
    form: dict[str, str] = {
        "kind": "",
        "identity_check": "",
        "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
        "note": "",
    }
    if request.method == "POST":
        form = {k: request.POST.get(k, "") for k in form}
        received: dt.datetime | None = None
        try:
            if form["received_at"]:
                try:
                    received = timezone.make_aware(dt.datetime.fromisoformat(form["received_at"]))
                except ValueError:
                    raise DomainError(_("Enter the date and time it was received."), field="received_at") from None
            made = svc.subject_request_create(
                user=request.user,
                client=client,
                kind=form["kind"],
                identity_check=form["identity_check"],
                received_at=received,
                note=form["note"],
                ip_address=client_ip(request),
            )
        except DomainError as e:
            messages.error(request, e.detail)
        else:
            messages.success(
                request,
                _("The request is recorded; it is due by %(due)s.")
                % {"due": f"{timezone.localtime(made.due_at):%Y-%m-%d}"},
            )
            return redirect("privacy:request_detail", pk=made.pk)
    return render(
        request,
        "privacy/requests/new.html",
        {
            "client": client,
            "form": form,
            "kinds": RequestKind.choices,
            "checks": IdentityCheck.choices,
            "past": svc.request_list_for(request.user).filter(client=client).order_by("-received_at")[:20],
            "provisions": svc.provisions_for_client(request.user, client.pk),
        },
    )
