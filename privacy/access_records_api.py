"""The privacy officer's API (API.md "Privacy"): access records and their chain, the destruction ledger, the
monthly review and its sign-off, a staff member's permission history. Thin: the privacy services decide."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import AccessAction, PiiAccessLog
from centers.models import PermissionChange, Role
from centers.selectors import actor_for
from core.api import Pagination, page_of
from core.errors import InvalidInput, NotFound, PermissionDenied
from core.http import client_ip
from core.orm import parse_pk
from privacy import access_records as svc
from privacy import selectors_retention as sel
from privacy.access_review import month_start, review_signoff
from privacy.officer import require_officer
from privacy.retention_api import batch_payload
from privacy.retention_models import AccessReview, DestructionBatch

FILTERS = [
    OpenApiParameter("user", OpenApiTypes.STR, description="A staff account's username."),
    OpenApiParameter("client", OpenApiTypes.INT, description="A client number."),
    OpenApiParameter("action", OpenApiTypes.STR, enum=AccessAction.values),
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (Asia/Seoul), included."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (Asia/Seoul), included."),
]


class AccessLogRowSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    client = serializers.IntegerField(source="client_id", read_only=True)
    where = serializers.CharField(source="view", read_only=True)
    address = serializers.CharField(source="ip_address", read_only=True, allow_null=True)

    class Meta:
        model = PiiAccessLog
        fields = ["seq", "at", "user", "client", "action", "where", "address", "reason"]
        read_only_fields = fields


AccessLogPageSerializer = page_of(AccessLogRowSerializer, "AccessLogPageSerializer")


class AccessLogView(APIView):
    @extend_schema(parameters=FILTERS, responses=AccessLogPageSerializer, summary="Access records (privacy officer)")
    def get(self, request: Request, format: str | None = None) -> Response:
        f = svc.access_log_filter_parse(request.query_params)
        paginator = Pagination()
        page = paginator.paginate_queryset(svc.access_log_rows(request.user, f), request, view=self) or []
        return paginator.get_paginated_response(AccessLogRowSerializer(page, many=True).data)


class AccessLogVerifyView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "AccessLogVerdict",
            {
                "ok": serializers.BooleanField(),
                "rows": serializers.IntegerField(),
                "first_bad": serializers.IntegerField(allow_null=True, help_text="`seq` of the first broken row"),
            },
        ),
        summary="Verify the access records' hash chain (privacy officer)",
    )
    def get(self, request: Request, format: str | None = None) -> Response:
        verdict = svc.access_log_verify(request.user)
        return Response({"ok": verdict.ok, "rows": verdict.rows, "first_bad": verdict.first_bad})


class AccessLogExportView(APIView):
    @extend_schema(
        parameters=[*FILTERS, OpenApiParameter("reason", OpenApiTypes.STR, required=True)],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        summary="Access records as CSV; a download of personal data: `reason` required and recorded",
    )
    def get(self, request: Request, format: str | None = None) -> HttpResponse:
        f = svc.access_log_filter_parse(request.query_params)
        text = svc.access_log_export(
            user=request.user, f=f, reason=request.query_params.get("reason", ""), ip=client_ip(request)
        )
        response = HttpResponse(text.encode(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="yeongye-access-log.csv"'
        response["Cache-Control"] = "no-store"
        return response


# --- The destruction ledger ---


class DestructionListView(APIView):
    @extend_schema(
        responses=inline_serializer(
            "DestructionBatchPage",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": serializers.ListField(child=serializers.DictField()),
            },
        ),
        summary="Destruction batches, newest first, each with its ledger rows (privacy officer)",
    )
    def get(self, request: Request, format: str | None = None) -> Response:
        require_officer(request.user)
        paginator = Pagination()
        page: list[DestructionBatch] = (
            paginator.paginate_queryset(sel.batches().order_by("-pk"), request, view=self) or []
        )
        records: dict[int, list[dict[str, Any]]] = {}
        for r in sel.ledger().filter(batch_id__in=[b.pk for b in page]).order_by("pk"):
            records.setdefault(r.batch_id or 0, []).append(
                {
                    "at": r.at, "record_type": r.record_type, "clients": r.clients, "rows": r.rows,
                    "ground": r.ground, "method": r.method, "ran_by": r.ran_by,
                }
            )  # fmt: skip
        results = [{**batch_payload(b), "destroyed_at": b.destroyed_at, "records": records.get(b.pk, [])} for b in page]
        return paginator.get_paginated_response(results)


# --- The monthly review ---


def _month(value: object, field: str) -> dt.date:
    raw = str(value or "").strip()
    try:
        return month_start(dt.date.fromisoformat(f"{raw}-01"))
    except ValueError:
        raise InvalidInput("YYYY-MM", field=field) from None


def review_payload(month: dt.date, review: AccessReview | None) -> dict[str, Any]:
    flags = []
    if review is not None:
        for f in review.flags.select_related("user", "noted_by").order_by("kind", "user__username", "first_at"):
            flags.append(
                {
                    "id": f.pk, "kind": f.kind, "user": f.user.get_username(), "detail": f.detail,
                    "first_at": f.first_at, "last_at": f.last_at, "rows": f.rows, "row_seqs": f.row_seqs,
                    "note": f.note,
                }
            )  # fmt: skip
    signed = None
    if review is not None and review.signed_off_at is not None:
        signed = {
            "by": review.signed_off_by.get_username() if review.signed_off_by else None,
            "at": review.signed_off_at,
            "note": review.conclusion,
        }
    return {
        "month": f"{month:%Y-%m}",
        "computed_at": review.computed_at if review else None,
        "flags": flags,
        "sign_off": signed,
    }


REVIEW_SCHEMA = inline_serializer(
    "AccessReviewMonth",
    {
        "month": serializers.CharField(),
        "computed_at": serializers.DateTimeField(allow_null=True),
        "flags": serializers.ListField(child=serializers.DictField()),
        "sign_off": serializers.DictField(allow_null=True),
    },
)


class ReviewView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("month", OpenApiTypes.STR, description="YYYY-MM; default: last month")],
        responses=REVIEW_SCHEMA,
        summary="A month's access-review flags and its sign-off (privacy officer)",
    )
    def get(self, request: Request, format: str | None = None) -> Response:
        require_officer(request.user)
        raw = request.query_params.get("month")
        if raw:
            month = _month(raw, "month")
        else:
            this = month_start(timezone.localdate())
            month = month_start(this - dt.timedelta(days=1))
        review = sel.reviews().filter(month=month).first()
        return Response(review_payload(month, review))


class SignInputSerializer(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ReviewSignView(APIView):
    @extend_schema(request=SignInputSerializer, responses=REVIEW_SCHEMA, summary="Sign off a month's review")
    def post(self, request: Request, month: str, format: str | None = None) -> Response:
        day = _month(month, "month")
        data = SignInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        review = review_signoff(user=request.user, month=day, conclusion=data.validated_data.get("note", ""))
        return Response(review_payload(day, review))


# --- Permission history ---


class PermissionChangeSerializer(serializers.ModelSerializer):
    by = serializers.CharField(source="actor_username", read_only=True)
    staff = serializers.CharField(source="subject_username", read_only=True)

    class Meta:
        model = PermissionChange
        fields = ["at", "staff", "field", "before", "after", "by", "via"]
        read_only_fields = fields


PermissionChangePageSerializer = page_of(PermissionChangeSerializer, "PermissionChangePageSerializer")


class StaffPermissionHistoryView(APIView):
    @extend_schema(responses=PermissionChangePageSerializer, summary="A staff member's permission history")
    def get(self, request: Request, id: str, format: str | None = None) -> Response:
        if actor_for(request.user).role not in (Role.PRIVACY_OFFICER, Role.ADMIN):
            raise PermissionDenied(_("Only an administrator or the privacy officer reads the permission history."))
        pk = parse_pk(id)
        if pk is None or not get_user_model().objects.filter(pk=pk).exists():
            raise NotFound(_("No such staff member."))
        paginator = Pagination()
        page = paginator.paginate_queryset(PermissionChange.objects.filter(subject_id=pk), request, view=self) or []
        return paginator.get_paginated_response(PermissionChangeSerializer(page, many=True).data)
