"""The statistics dashboard and its exports: thin, over stats.selectors.stats_report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from centers.models import Center, CenterKind, Domain, Region
from centers.selectors import actor_for
from core.errors import PermissionDenied
from core.replica import replica_reads
from stats.exports import table_matrix, to_csv, to_xlsx
from stats.forms import GROUPS, StatsFilterForm
from stats.selectors import StatsQuery, StatsReport, stats_report


def _num(v: Any) -> Any:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def chart_data(report: StatsReport) -> dict[str, Any]:
    months = [r.month for r in report.series]

    def series(key: str) -> list[Any]:
        return [_num(r.values.get(key)) for r in report.series]

    return {
        "months": months,
        "trend": [
            {"label": _("Walk-ins"), "data": series("walk_ins")},
            {"label": _("Referrals sent"), "data": series("referrals_sent")},
            {"label": _("Accepted"), "data": series("accepted")},
            {"label": _("Completed"), "data": series("completed")},
        ],
        "accept": [
            {"label": _("Median hours to accept"), "data": series("median_hours_to_accept")},
            {"label": _("P90 hours to accept"), "data": series("p90_hours_to_accept")},
        ],
        "domains": [r.labels["domain"] for r in report.by_domain],
        "by_domain": [
            {"label": _("Achieved outcomes"), "data": [_num(r.values["achieved"]) for r in report.by_domain]},
            {
                "label": _("Completed, not achieved"),
                "data": [
                    _num(r.values["completed"]) - _num(r.values["achieved"])
                    if _num(r.values["completed"]) is not None and _num(r.values["achieved"]) is not None
                    else None
                    for r in report.by_domain
                ],
            },
            {"label": _("Failed"), "data": [_num(r.values["failed"]) for r in report.by_domain]},
            {"label": _("Cancelled"), "data": [_num(r.values["cancelled"]) for r in report.by_domain]},
            {"label": _("Rejected"), "data": [_num(r.values["rejected"]) for r in report.by_domain]},
            {"label": _("Still open"), "data": [_num(r.values["open"]) for r in report.by_domain]},
        ],
        "funnel": {"labels": [label for label, _v in report.funnel], "data": [_num(v) for _l, v in report.funnel]},
        "hours": _("hours"),
    }


_SUPPRESSED = ("<5", "*")


def _td(v: Any) -> str:
    if v is None:
        return "<td></td>"
    if type(v) is int and not settings.USE_THOUSAND_SEPARATOR:
        return f"<td>{v}</td>"  # what localize() gives an int without grouping, at a fraction of the cost
    if isinstance(v, str) and v in _SUPPRESSED:
        return f'<td><span class="suppressed">{conditional_escape(v)}</span></td>'
    return f"<td>{conditional_escape(localize(v))}</td>"


def table_body(rows: list[list[Any]]) -> SafeString:
    """The table's `<tr>`s, the totals row (last) marked, built in one pass.

    A national year by desk is ~1,000 rows × 25 figures; rendering each cell through template tags
    took most of the page's time. Every value is escaped here exactly as `{{ v }}` would (localized,
    then escaped); the suppression markers get their span.
    """
    last = len(rows) - 1
    lines = [
        ('<tr class="total">' if i == last else "<tr>") + "".join(_td(v) for v in row) + "</tr>"
        for i, row in enumerate(rows)
    ]
    return mark_safe("\n".join(lines))  # noqa: S308 - every value went through conditional_escape


def _query(request: HttpRequest) -> tuple[StatsFilterForm, StatsQuery | None]:
    form = StatsFilterForm(request.GET.dict())
    if not form.is_valid():
        return form, None
    d = form.cleaned_data
    return form, StatsQuery(
        start=d["start"],
        end=d["end"],
        group=d["group"],
        center=d["center"],
        kind=d["kind"],
        region=d["region"],
        domain=d["domain"],
    )


@login_required
@replica_reads
def dashboard(request: HttpRequest) -> HttpResponse:
    actor = actor_for(request.user)
    form, query = _query(request)
    report = None
    status = 200
    error = None
    if query is not None:
        try:
            report = stats_report(actor=actor, query=query)
        except PermissionDenied as exc:
            error, status = exc.detail, 403
    else:
        status = 400
    context: dict[str, Any] = {
        "form": form,
        "report": report,
        "error": error,
        "actor": actor,
        "groups": GROUPS,
        "kinds": CenterKind.choices,
        "domains": Domain.choices,
        "regions": Region.objects.all(),
        "centers": Center.objects.filter(active=True).only("id", "code", "name") if not actor.is_center_staff else [],
        "params": request.GET.urlencode(),
    }
    if report is not None:
        headers, _kinds, rows = table_matrix(report)
        context.update(headers=headers, table_body=table_body(rows), chart=chart_data(report))
        # The cards show the last month against the one before; the month under way is not yet whole.
        today = timezone.localdate()
        context.update(
            card_month=report.query.end,
            card_previous=(report.query.end - dt.timedelta(days=1)).replace(day=1),
            card_in_progress=report.query.end == today.replace(day=1),
            today=today,
        )
    return render(request, "stats/dashboard.html", context, status=status)


@login_required
@replica_reads
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    form, query = _query(request)
    if query is None:
        return HttpResponse(form.errors.as_text(), status=400, content_type="text/plain; charset=utf-8")
    try:
        report = stats_report(actor=actor_for(request.user), query=query)
    except PermissionDenied as exc:
        return HttpResponse(exc.detail, status=403, content_type="text/plain; charset=utf-8")
    name = f"yeongye-stats-{query.start:%Y%m}-{query.end:%Y%m}"
    if fmt == "csv":
        response = HttpResponse(to_csv(report), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            to_xlsx(report), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response
