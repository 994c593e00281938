"""HTML pages of the safe job market. Thin: parse the form, call one service or selector, render or redirect."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from centers.selectors import actor_for
from core.errors import DomainError, PermissionDenied
from jobs import exports, selectors, services
from jobs.models import Decision, Employer, RiskLevel, WageType
from jobs.screening import PostingFacts
from jobs.work24 import WORK24_CREDIT

PAGE_SIZE = 50


def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return render(request, "jobs/forbidden.html", {"detail": exc.detail}, status=403)


def highlight(text: str, findings: list[dict[str, Any]], field: str) -> SafeString:
    """The text, escaped, with each finding's span of this field in <mark> (overlapping spans merged)."""
    spans = sorted(
        (f["start"], f["end"], f.get("label", ""))
        for f in findings
        if f.get("field") == field and f.get("start") is not None and f.get("end") is not None
    )
    merged: list[list[Any]] = []
    for start, end, label in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
            if label not in merged[-1][2]:
                merged[-1][2].append(label)
        else:
            merged.append([start, end, [label]])
    out: list[str] = []
    pos = 0
    for start, end, labels in merged:
        out.append(escape(text[pos:start]))
        out.append(f'<mark title="{escape(", ".join(labels))}">{escape(text[start:end])}</mark>')
        pos = end
    out.append(escape(text[pos:]))
    return mark_safe("".join(out))  # noqa: S308 - every piece of text went through escape()


def _common(request: HttpRequest) -> dict[str, Any]:
    actor = actor_for(request.user)
    return {
        "can_review": services.can_review(actor),
        "can_report": services.can_report(actor),
        "work24_credit": WORK24_CREDIT,
    }


@login_required
def posting_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    filters = selectors.PostingFilters(
        risk=g.get("risk", "") if g.get("risk", "") in RiskLevel.values else "",
        review=g.get("review", "") if g.get("review") in ("pending", "decided") else "",
        employer=g.get("employer", "")[:200],
        q=g.get("q", "")[:200],
    )
    try:
        qs = selectors.posting_list(request.user, filters)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    page = Paginator(qs, PAGE_SIZE).get_page(g.get("page"))
    return render(
        request,
        "jobs/posting_list.html",
        {"page": page, "filters": filters, "risk_levels": RiskLevel.choices, **_common(request)},
    )


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    """Reviewers' queue, with what the learned model is worth (its cross-validated figures)."""
    try:
        qs = selectors.review_queue(request.user)
        status = selectors.classifier_status_for(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "jobs/review_queue.html", {"page": page, "model": status, **_common(request)})


@login_required
def posting_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        posting = get_object_or_404(selectors.postings_for(request.user), pk=pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    findings = posting.findings or []
    return render(
        request,
        "jobs/posting_detail.html",
        {
            "posting": posting,
            "title_html": highlight(posting.title, findings, "title"),
            "content_html": highlight(posting.content, findings, "content"),
            "findings": findings,
            "reviews": posting.reviews.select_related("by").order_by("-at", "-pk"),
            "reports": selectors.reports_for(request.user, posting),
            "decisions": Decision.choices,
            **_common(request),
        },
    )


@login_required
@require_POST
def posting_review(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        posting = get_object_or_404(selectors.postings_for(request.user), pk=pk)
        review = services.posting_review(
            posting_id=posting.pk,
            by=request.user,  # type: ignore[arg-type]
            decision=request.POST.get("decision", ""),
            reason=request.POST.get("reason", ""),
        )
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, str(exc.detail))
        return redirect("jobs:posting_detail", pk=pk)
    messages.success(request, _("Decision recorded: %(decision)s.") % {"decision": review.get_decision_display()})
    return redirect("jobs:posting_detail", pk=pk)


@login_required
@require_POST
def posting_report(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        posting = get_object_or_404(selectors.postings_for(request.user), pk=pk)
        services.posting_report(
            posting_id=posting.pk,
            by=request.user,  # type: ignore[arg-type]
            reason=request.POST.get("reason", ""),
            complaint=request.POST.get("complaint", ""),
        )
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, str(exc.detail))
        return redirect("jobs:posting_detail", pk=pk)
    messages.success(request, _("Thank you: the posting was reported to the reviewers."))
    return redirect("jobs:posting_detail", pk=pk)


@login_required
def employer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        employer = selectors.employer_get_for_user(request.user, pk)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except Employer.DoesNotExist:
        raise Http404 from None
    postings = selectors.postings_for(request.user).filter(employer=employer)
    return render(
        request,
        "jobs/employer_detail.html",
        {
            "employer": employer,
            "postings": postings,
            "history": selectors.employer_history(employer),
            **_common(request),
        },
    )


@login_required
def suspect_list(request: HttpRequest) -> HttpResponse:
    try:
        employers = selectors.suspects_for(request.user)
        exports_done = selectors.exports_for(request.user)[:10]
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    return render(
        request, "jobs/suspect_list.html", {"employers": employers, "exports": exports_done, **_common(request)}
    )


@login_required
@require_POST
def suspect_export(request: HttpRequest) -> HttpResponse:
    """A POST (it writes the export log); the file answers it directly."""
    try:
        employers = list(selectors.suspects_for(request.user))
        rows = exports.suspect_rows(employers)
        log = services.suspects_export_record(by=request.user, reason=request.POST.get("reason", ""), rows=len(rows))  # type: ignore[arg-type]
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    except DomainError as exc:
        messages.error(request, str(exc.detail))
        return redirect("jobs:suspect_list")
    content = exports.suspects_xlsx(rows, reason=log.reason, by=request.user.get_username())
    response = HttpResponse(content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response["Content-Disposition"] = f'attachment; filename="yeongye-suspects-{log.at:%Y%m%d}.xlsx"'
    return response


@login_required
def check(request: HttpRequest) -> HttpResponse:
    """A counselor pastes an ad and sees its findings. Nothing is stored (a POST only to carry long text)."""
    try:
        selectors.require_screening(request.user)
    except PermissionDenied as exc:
        return _forbidden(request, exc)
    context: dict[str, Any] = {"wage_types": WageType.choices, "values": {}, **_common(request)}
    if request.method == "POST":
        p = request.POST
        values = {k: p.get(k, "")[:20_000] for k in ("title", "content", "wage_type", "wage", "hours_per_week")}
        context["values"] = values
        wage = int(values["wage"]) if values["wage"].isascii() and values["wage"].isdigit() else None
        try:
            hours = Decimal(values["hours_per_week"]) if values["hours_per_week"] else None
        except InvalidOperation:
            hours = None
        if wage is not None and wage >= services.MAX_WAGE:
            wage = None
        wage_type = values["wage_type"] if values["wage_type"] in WageType.values else ""
        text = values["content"]
        risk = services.screen_posting(
            PostingFacts(
                title=values["title"],
                content=text,
                wage_type=wage_type,
                wage=wage if wage_type else None,
                hours_per_week=hours,
            )
        )
        findings = [f.as_dict() for f in risk.findings]
        context.update(
            risk=risk,
            findings=findings,
            title_html=highlight(values["title"], findings, "title"),
            content_html=highlight(text, findings, "content"),
        )
    return render(request, "jobs/check.html", context)
