"""GET /api/v1/stats/monthly/ — thin: parse with StatsFilterForm, read stats_report, shape rows."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from centers.selectors import actor_for
from stats.exports import to_csv, to_xlsx
from stats.forms import GROUPS, StatsFilterForm
from stats.selectors import FIGURES, Row, StatsQuery, stats_report

EXTRA_FIGURES = ("timeouts", "routed", "colocated", "open")
FORMATS = ("json", "csv", "xlsx")


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else b""


class XLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else b""


def row_payload(row: Row) -> dict[str, Any]:
    out: dict[str, Any] = {"month": row.month or None}
    for key in ("center", "region", "kind", "domain", "service", "desk", "channel"):
        out[key] = row.keys.get(key)
        if key in row.labels and key in ("center", "region", "service", "desk"):
            out[f"{key}_name"] = row.labels[key]
    for key, _h, _k in FIGURES:
        out[key] = row.values.get(key)
    for key in EXTRA_FIGURES:
        out[key] = row.values.get(key)
    out["achieved_by_outcome"] = row.values.get("achieved_outcomes", {})
    out["completed_by_outcome"] = row.values.get("outcomes", {})
    out["failed_by_reason"] = row.values.get("fail_reasons", {})
    out["placements_by_employer_status"] = row.values.get("placements", {})
    return out


_figure = serializers.JSONField(help_text='An integer, null, or "<5" / "*" when suppressed for the ministry.')


class MonthlyStatsView(APIView):
    renderer_classes = [JSONRenderer, CSVRenderer, XLSXRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False):  # type: ignore[override]
        fmt = request.query_params.get("format")
        if fmt is not None and fmt not in FORMATS:
            raise ValidationError({"format": [f"Choose one of: {', '.join(FORMATS)}."]})
        if fmt == "json":
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    def handle_exception(self, exc: Exception) -> Response:
        # Errors are always JSON, even when a CSV or XLSX file was asked for.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="stats_monthly",
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.STR, description="First month, YYYY-MM (default: 11 months before `to`)."
            ),
            OpenApiParameter("to", OpenApiTypes.STR, description="Last month, YYYY-MM (default: this month)."),
            OpenApiParameter("center", OpenApiTypes.STR, description="Center id or code."),
            OpenApiParameter("kind", OpenApiTypes.STR, description="Center kind."),
            OpenApiParameter("region", OpenApiTypes.STR, description="Region (시도) code."),
            OpenApiParameter(
                "domain",
                OpenApiTypes.STR,
                enum=["", "employment", "welfare", "finance"],
                description="Domain; empty means all (as the dashboard form sends it).",
            ),
            OpenApiParameter(
                "group",
                OpenApiTypes.STR,
                enum=["", *(g for g, _l in GROUPS)],
                description="Grouping of the rows; empty means by month (as the dashboard form sends it).",
            ),
            OpenApiParameter("format", OpenApiTypes.STR, enum=list(FORMATS)),
        ],
        responses={
            200: inline_serializer(
                "MonthlyStats",
                {
                    "count": serializers.IntegerField(),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                    "suppressed": serializers.BooleanField(),
                    "results": inline_serializer(
                        "MonthlyStatsRow",
                        {
                            "month": serializers.CharField(),
                            "center": serializers.CharField(allow_null=True),
                            "region": serializers.CharField(allow_null=True),
                            "kind": serializers.CharField(allow_null=True),
                            "domain": serializers.CharField(allow_null=True),
                            "service": serializers.CharField(allow_null=True),
                            **{k: _figure for k, _h, _kd in FIGURES},
                        },
                        many=True,
                    ),
                    "total": serializers.DictField(),
                },
            ),
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        form = StatsFilterForm(request.query_params.dict())
        if not form.is_valid():
            errors = {
                ("from" if k == "start" else "to" if k == "end" else k): [str(e) for e in v]
                for k, v in form.errors.items()
            }
            raise ValidationError(errors)
        d = form.cleaned_data
        query = StatsQuery(
            start=d["start"],
            end=d["end"],
            group=d["group"],
            center=d["center"],
            kind=d["kind"],
            region=d["region"],
            domain=d["domain"],
        )
        report = stats_report(actor=actor_for(request.user), query=query)
        fmt = getattr(request.accepted_renderer, "format", "json")
        name = f"yeongye-stats-{query.start:%Y%m}-{query.end:%Y%m}"
        if fmt == "csv":
            response = HttpResponse(to_csv(report), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
            return response
        if fmt == "xlsx":
            response = HttpResponse(to_xlsx(report), content_type=XLSXRenderer.media_type)
            response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
            return response
        results = [row_payload(r) for r in report.rows]
        return Response(
            {
                "count": len(results),
                "next": None,
                "previous": None,
                "suppressed": report.suppressed,
                "results": results,
                "total": row_payload(report.total),
            }
        )
