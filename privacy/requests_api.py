"""API of the person's requests and the provision ledger (API.md "Privacy"). Thin: privacy.requests decides."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.models import AccessAction
from cases.selectors import client_get_for_user, pii_actor
from cases.services import pii_access_log_write
from core.api import Pagination, page_of
from core.errors import InvalidInput, NotFound
from core.http import client_ip
from privacy import requests as svc
from privacy.access_records import csv_cell, export_csv_reason
from privacy.access_report import access_report_pdf, report_filename
from privacy.requests_models import (
    Decision,
    IdentityCheck,
    Provision,
    RefusalReason,
    RequestKind,
    RequestStatus,
    SubjectRequest,
)


class RequestSerializer(serializers.ModelSerializer):
    client = serializers.IntegerField(source="client_id", read_only=True)
    center = serializers.CharField(source="center.code", read_only=True)
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    identity_check = serializers.CharField(read_only=True)
    # "" until answered (reason: also when granted).
    decision = serializers.CharField(read_only=True)
    reason = serializers.CharField(read_only=True)
    overdue = serializers.SerializerMethodField()
    report = serializers.SerializerMethodField()

    class Meta:
        model = SubjectRequest
        fields = [
            "id", "client", "center", "kind", "status", "received_at", "due_at", "overdue", "identity_check", "note",
            "decision", "reason", "answer", "answered_at", "report",
        ]  # fmt: skip
        read_only_fields = fields

    def get_overdue(self, obj: SubjectRequest) -> bool:
        return obj.status == RequestStatus.OPEN and obj.due_at < timezone.now()

    def get_report(self, obj: SubjectRequest) -> str | None:
        if obj.kind != RequestKind.ACCESS or obj.decision not in (Decision.GRANTED, Decision.PARTLY_GRANTED):
            return None
        return reverse("privacy-request-report", kwargs={"id": obj.pk})


RequestPageSerializer = page_of(RequestSerializer, "RequestPageSerializer")


class RequestInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=RequestKind.choices)
    identity_check = serializers.ChoiceField(choices=IdentityCheck.choices)
    received_at = serializers.DateTimeField(required=False)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class AnswerInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.ChoiceField(choices=RefusalReason.choices, required=False, allow_blank=True)
    answer = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ProvisionSerializer(serializers.ModelSerializer):
    referral = serializers.IntegerField(source="referral_id", read_only=True, allow_null=True)
    recipient_center = serializers.CharField(source="recipient_center.code", read_only=True, allow_null=True)

    class Meta:
        model = Provision
        fields = [
            "at", "recipient", "recipient_kind", "recipient_center", "purpose", "legal_basis", "items", "method",
            "limits", "referral", "system",
        ]  # fmt: skip
        read_only_fields = fields


class ClientRequestsView(APIView):
    @extend_schema(request=RequestInputSerializer, responses={201: RequestSerializer}, summary="Record a request")
    def post(self, request: Request, id: str, format: str | None = None) -> Response:
        client = client_get_for_user(request.user, id)
        data = RequestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        made = svc.subject_request_create(
            user=request.user,
            client=client,
            kind=data.validated_data["kind"],
            identity_check=data.validated_data["identity_check"],
            received_at=data.validated_data.get("received_at"),
            note=data.validated_data.get("note", ""),
            ip_address=client_ip(request),
        )
        return Response(RequestSerializer(made).data, status=201)


class RequestListView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=RequestStatus.values),
            OpenApiParameter("overdue", OpenApiTypes.BOOL),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=RequestKind.values),
        ],
        responses=RequestPageSerializer,
        summary="The requests queue (privacy officer: all; center staff: their center)",
    )
    def get(self, request: Request, format: str | None = None) -> Response:
        qs = svc.request_list_for(request.user)
        status = request.query_params.get("status") or ""
        if status:
            if status not in RequestStatus.values:
                raise InvalidInput(f"status: one of {', '.join(RequestStatus.values)}", field="status")
            qs = qs.filter(status=status)
        kind = request.query_params.get("kind") or ""
        if kind:
            if kind not in RequestKind.values:
                raise InvalidInput(f"kind: one of {', '.join(RequestKind.values)}", field="kind")
            qs = qs.filter(kind=kind)
        overdue = (request.query_params.get("overdue") or "").lower()
        if overdue in ("true", "1"):
            qs = svc.request_overdue(qs)
        elif overdue not in ("", "false", "0"):
            raise InvalidInput("overdue: true or false", field="overdue")
        paginator = Pagination()
        page = paginator.paginate_queryset(qs.order_by("due_at", "pk"), request, view=self) or []
        return paginator.get_paginated_response(RequestSerializer(page, many=True).data)


class RequestAnswerView(APIView):
    @extend_schema(request=AnswerInputSerializer, responses=RequestSerializer, summary="Answer a request")
    def post(self, request: Request, id: int, format: str | None = None) -> Response:
        data = AnswerInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answered = svc.subject_request_answer(
            user=request.user,
            request_id=id,
            decision=data.validated_data["decision"],
            reason=data.validated_data.get("reason", ""),
            answer=data.validated_data.get("answer", ""),
        )
        return Response(RequestSerializer(answered).data)


def report_response(user: Any, request_id: object, ip_address: str | None) -> HttpResponse:
    """The 열람 report's PDF for an access request, with its print record (API and page share it).

    The report holds the person's cases and data: the client's center prints it and hands it over; the
    privacy officer, who never reads case content, answers the request but does not open the report."""
    pii_actor(user)
    req = svc.request_get_for(user, request_id)
    if req.kind != RequestKind.ACCESS:
        raise NotFound("Only an access request has a report.")
    pdf = access_report_pdf(req)
    pii_access_log_write(
        user=user, clients=[req.client_id], view="privacy:access_report", ip_address=ip_address,
        action=AccessAction.PRINT,
    )  # fmt: skip
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{report_filename(req)}"'
    response["Cache-Control"] = "no-store"
    return response


class RequestReportView(APIView):
    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="The access report (PDF)")
    def get(self, request: Request, id: int, format: str | None = None) -> HttpResponse:
        return report_response(request.user, id, client_ip(request))


class ClientProvisionsView(APIView):
    @extend_schema(responses=ProvisionSerializer(many=True), summary="One client's provision ledger")
    def get(self, request: Request, id: str, format: str | None = None) -> Response:
        rows = list(svc.provisions_for_client(request.user, id))
        return Response(ProvisionSerializer(rows, many=True).data)


PROVISION_HEADERS = [
    "제공일시",
    "개인정보파일(시스템)",
    "제공받는 자",
    "유형",
    "목적",
    "근거",
    "항목",
    "방법",
    "제한",
    "의뢰",
    "정보주체(ID)",
]


class ProvisionExportView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE),
            OpenApiParameter("to", OpenApiTypes.DATE),
            OpenApiParameter("reason", OpenApiTypes.STR, required=True, description="Why (recorded)"),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        summary="The provision ledger as CSV (privacy officer)",
    )
    def get(self, request: Request, format: str | None = None) -> HttpResponse:
        qs = svc.provisions_all(request.user)
        reason = export_csv_reason(request.query_params.get("reason"))
        for param, lookup in (("from", "at__date__gte"), ("to", "at__date__lte")):
            value = request.query_params.get(param)
            if value:
                try:
                    qs = qs.filter(**{lookup: dt.date.fromisoformat(value)})
                except ValueError:
                    raise InvalidInput("YYYY-MM-DD", field=param) from None
        out = io.StringIO()
        out.write("\ufeff")
        writer = csv.writer(out)
        writer.writerow(PROVISION_HEADERS)
        clients: list[int] = []
        for p in qs.iterator():
            if p.client_id:
                clients.append(p.client_id)
            writer.writerow(
                [
                    csv_cell(timezone.localtime(p.at).strftime("%Y-%m-%d %H:%M")), csv_cell(p.system), csv_cell(p.recipient),
                    csv_cell(p.recipient_kind), csv_cell(p.purpose), csv_cell(p.legal_basis), csv_cell(", ".join(p.items)),
                    csv_cell(p.method), csv_cell(p.limits), csv_cell(p.referral_id or ""), csv_cell(p.client_id or ""),
                ]
            )  # fmt: skip
        # Each row names a client: the file is a download of personal data, recorded with its reason.
        pii_access_log_write(
            user=request.user, clients=clients, view="privacy:provisions_export", ip_address=client_ip(request),
            action=AccessAction.DOWNLOAD, reason=reason,
        )  # fmt: skip
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="yeongye-provisions.csv"'
        response["Cache-Control"] = "no-store"
        return response
