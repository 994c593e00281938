"""REST API of the safe job market (API.md "Job postings"). Thin: parse, call one service or selector, shape."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import bizno, exports, selectors, services
from jobs.inputs import PostingInput
from jobs.models import Decision, JobPosting, RiskLevel, Source, WageType
from jobs.screening import PostingFacts
from jobs.work24 import WORK24_CREDIT


class FindingSerializer(serializers.Serializer):
    rule = serializers.CharField()
    basis = serializers.CharField()
    quote = serializers.CharField(allow_blank=True)
    label = serializers.CharField(required=False)  # type: ignore[assignment]
    detail = serializers.CharField(required=False)
    field = serializers.CharField(required=False)  # type: ignore[assignment]
    start = serializers.IntegerField(required=False, allow_null=True)
    end = serializers.IntegerField(required=False, allow_null=True)
    # The learned model's finding (rule "classifier") only.
    probability = serializers.FloatField(required=False)
    model_version = serializers.CharField(required=False)


class RiskSerializer(serializers.Serializer):
    level = serializers.ChoiceField(choices=RiskLevel.choices)
    score = serializers.IntegerField()
    findings = FindingSerializer(many=True)
    # The learned second stage: probability that the ad is false or harmful, and the model ("v3") that gave
    # it; null when no model was active at screening.
    model_probability = serializers.FloatField(allow_null=True, required=False)
    model_version = serializers.CharField(allow_null=True, required=False)


class EmployerSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    business_number = serializers.CharField()
    name = serializers.CharField()
    suspect = serializers.BooleanField()


class ReviewSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()


class PostingSerializer(serializers.ModelSerializer):
    employer = serializers.SerializerMethodField()
    risk = serializers.SerializerMethodField()
    review = serializers.SerializerMethodField()
    credit = serializers.SerializerMethodField()
    hourly_equivalent = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = JobPosting
        fields = [
            "id",
            "source",
            "external_id",
            "title",
            "content",
            "employer",
            "wage_type",
            "wage",
            "hours_per_week",
            "hourly_equivalent",
            "region",
            "contact",
            "posted_on",
            "closes_on",
            "closes_when_filled",
            "detail_url",
            "credit",
            "risk",
            "review",
            "created_at",
        ]

    @extend_schema_field(EmployerSerializer(allow_null=True))
    def get_employer(self, obj: JobPosting) -> dict[str, Any] | None:
        e = obj.employer
        if e is None:
            return None
        return {"id": e.pk, "business_number": bizno.formatted(e.business_number), "name": e.name, "suspect": e.suspect}

    @extend_schema_field(RiskSerializer)
    def get_risk(self, obj: JobPosting) -> dict[str, Any]:
        return {
            "level": obj.risk_level,
            "score": obj.risk_score,
            "findings": obj.findings,
            "model_probability": None if obj.model_probability is None else round(obj.model_probability, 4),
            "model_version": f"v{obj.model_version_id}" if obj.model_version_id else None,
        }

    @extend_schema_field(ReviewSerializer(allow_null=True))
    def get_review(self, obj: JobPosting) -> dict[str, Any] | None:
        r = obj.last_review
        if r is None:
            return None
        return {"decision": r.decision, "reason": r.reason, "by": r.by.get_username(), "at": r.at}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_credit(self, obj: JobPosting) -> str | None:
        return WORK24_CREDIT if obj.source == Source.WORK24 else None


class EmployerInputSerializer(serializers.Serializer):
    business_number = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_business_number(self, value: str) -> str:
        if value and not bizno.is_valid(value):
            raise ValidationError(_("Not a valid business registration number (its check digit does not match)."))
        return bizno.normalise(value)


class PostingCreateSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    content = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    employer = EmployerInputSerializer(required=False)
    wage_type = serializers.ChoiceField(choices=WageType.choices)
    wage = serializers.IntegerField(min_value=1, max_value=services.MAX_WAGE - 1)
    hours_per_week = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)
    region = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    contact = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    source = serializers.ChoiceField(choices=[Source.MANUAL.value], required=False, default=Source.MANUAL)  # type: ignore[assignment]
    posted_on = serializers.DateField(required=False, allow_null=True)
    closes_on = serializers.DateField(required=False, allow_null=True)

    def to_input(self) -> PostingInput:
        d = self.validated_data
        employer = d.get("employer") or {}
        return PostingInput(
            title=d["title"],
            content=d["content"],
            wage_type=d["wage_type"],
            wage=d["wage"],
            hours_per_week=d.get("hours_per_week"),
            region=d["region"],
            contact=d["contact"],
            employer_name=employer.get("name", ""),
            business_number=employer.get("business_number", ""),
            posted_on=d.get("posted_on"),
            closes_on=d.get("closes_on"),
        )


class ReviewInputSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    reason = serializers.CharField(max_length=2000)


class ReportInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
    complaint = serializers.CharField(max_length=4000, required=False, allow_blank=True, default="")


class ImportInputSerializer(serializers.Serializer):
    file = serializers.FileField()


ImportResultSerializer = inline_serializer(
    "JobImportResult",
    {
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "failed": inline_serializer(
            "JobImportFailure", {"item": serializers.CharField(), "message": serializers.CharField()}, many=True
        ),
    },
)


class ScreenInputSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    content = serializers.CharField(max_length=20_000, required=False, allow_blank=True, default="")
    wage_type = serializers.ChoiceField(choices=WageType.choices, required=False, allow_blank=True, default="")
    wage = serializers.IntegerField(min_value=1, max_value=services.MAX_WAGE - 1, required=False, allow_null=True)
    hours_per_week = serializers.DecimalField(max_digits=4, decimal_places=1, required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("wage") and not attrs.get("wage_type"):
            raise ValidationError({"wage_type": [_("Give the wage type with the wage.")]})
        return attrs


_FILTERS = [
    OpenApiParameter("risk", OpenApiTypes.STR, enum=["", *RiskLevel.values]),
    OpenApiParameter("review", OpenApiTypes.STR, enum=["", "pending", "decided"]),
    OpenApiParameter("employer", OpenApiTypes.STR, description="Employer id, business number or name."),
]


class PostingViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # Only a whole number is a posting's id: anything else is the router's 404, never a ValueError (500).
    lookup_value_regex = r"[0-9]+"
    serializer_class = PostingSerializer
    queryset = JobPosting.objects.none()

    def get_queryset(self) -> QuerySet[JobPosting]:
        if self.action == "list":
            q = self.request.query_params
            risk, review = q.get("risk", ""), q.get("review", "")
            if risk and risk not in RiskLevel.values:
                raise ValidationError({"risk": [_("Choose one of: %s.") % ", ".join(RiskLevel.values)]})
            if review and review not in ("pending", "decided"):
                raise ValidationError({"review": [_("Choose one of: %s.") % "pending, decided"]})
            filters = selectors.PostingFilters(risk=risk, review=review, employer=q.get("employer", "")[:200])
            return selectors.posting_list(self.request.user, filters)
        return selectors.postings_for(self.request.user)

    @extend_schema(parameters=_FILTERS)
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=PostingCreateSerializer, responses={201: PostingSerializer})
    def create(self, request: Request) -> Response:
        s = PostingCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        posting = services.posting_create(by=request.user, data=s.to_input())  # type: ignore[arg-type]
        return Response(PostingSerializer(posting).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReviewInputSerializer, responses={200: PostingSerializer})
    @action(detail=True, methods=["post"])
    def review(self, request: Request, pk: str | None = None) -> Response:
        posting = get_object_or_404(selectors.postings_for(request.user), pk=pk)
        s = ReviewInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.posting_review(posting_id=posting.pk, by=request.user, **s.validated_data)  # type: ignore[arg-type]
        return Response(PostingSerializer(selectors.postings_for(request.user).get(pk=posting.pk)).data)

    @extend_schema(
        request=ReportInputSerializer,
        responses={
            201: inline_serializer("JobReport", {"id": serializers.IntegerField(), "at": serializers.DateTimeField()})
        },
    )
    @action(detail=True, methods=["post"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        posting = get_object_or_404(selectors.postings_for(request.user), pk=pk)
        s = ReportInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        report = services.posting_report(posting_id=posting.pk, by=request.user, **s.validated_data)  # type: ignore[arg-type]
        return Response({"id": report.pk, "at": report.at}, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": ImportInputSerializer},
        responses={200: ImportResultSerializer},
        description="A Work24 list or detail XML answer, or a CSV of the same fields. All-or-nothing per item: "
        "each posting lands or is listed in `failed`; an unreadable file is refused whole (400).",
    )
    @action(detail=False, methods=["post"], url_path="import", parser_classes=[MultiPartParser, FormParser])
    def import_file(self, request: Request) -> Response:
        # Refuse other roles before reading (and so parsing) the upload.
        services.require_writer(request.user)  # type: ignore[arg-type]
        s = ImportInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        upload = s.validated_data["file"]
        if upload.size > services.settings.JOBS_IMPORT_MAX_BYTES:
            raise ValidationError({"file": [_("The file is too large.")]})
        report = services.postings_import(by=request.user, filename=upload.name or "", content=upload.read())  # type: ignore[arg-type]
        return Response(report.as_dict())


class XLSXRenderer(BaseRenderer):
    media_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return data if isinstance(data, bytes) else b""


class SuspectsView(APIView):
    renderer_classes = [JSONRenderer, XLSXRenderer]

    def perform_content_negotiation(self, request: Request, force: bool = False):  # type: ignore[override]
        fmt = request.query_params.get("format")
        if fmt is not None and fmt not in ("json", "xlsx"):
            raise ValidationError({"format": [_("Choose one of: %s.") % "json, xlsx"]})
        if fmt in (None, "json"):
            return (JSONRenderer(), JSONRenderer.media_type)
        return super().perform_content_negotiation(request, force)

    def handle_exception(self, exc: Exception) -> Response:
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(
        operation_id="jobs_suspects",
        parameters=[
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "xlsx"]),
            OpenApiParameter("reason", OpenApiTypes.STR, description="Required with format=xlsx: why it is exported."),
        ],
        responses={
            200: inline_serializer(
                "JobSuspects",
                {
                    "count": serializers.IntegerField(),
                    "results": inline_serializer(
                        "JobSuspect",
                        {
                            "id": serializers.IntegerField(),
                            "business_number": serializers.CharField(),
                            "name": serializers.CharField(),
                            "address": serializers.CharField(),
                            "suspect_since": serializers.DateTimeField(allow_null=True),
                            "flagged_postings": serializers.IntegerField(),
                            "postings": serializers.IntegerField(),
                        },
                        many=True,
                    ),
                },
            ),
            (200, XLSXRenderer.media_type): OpenApiTypes.BINARY,
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        employers = list(selectors.suspects_for(request.user))
        if request.query_params.get("format") == "xlsx":
            reason = request.query_params.get("reason", "").strip()
            if not reason:
                raise ValidationError({"reason": [_("Say why the list is exported (e.g. the inspection it is for).")]})
            rows = exports.suspect_rows(employers)
            log = services.suspects_export_record(by=request.user, reason=reason, rows=len(rows))  # type: ignore[arg-type]
            content = exports.suspects_xlsx(rows, reason=log.reason, by=request.user.get_username())
            response = HttpResponse(content, content_type=XLSXRenderer.media_type)
            response["Content-Disposition"] = f'attachment; filename="yeongye-suspects-{log.at:%Y%m%d}.xlsx"'
            return response
        results = [
            {
                "id": e.pk,
                "business_number": bizno.formatted(e.business_number),
                "name": e.name,
                "address": e.address,
                "suspect_since": e.suspect_since,
                "flagged_postings": e.flagged_count,  # type: ignore[attr-defined]
                "postings": e.posting_count,  # type: ignore[attr-defined]
            }
            for e in employers
        ]
        return Response({"count": len(results), "results": results})


class ScreenView(APIView):
    @extend_schema(
        operation_id="jobs_screen",
        request=ScreenInputSerializer,
        responses={
            200: inline_serializer(
                "JobScreen", {"risk": RiskSerializer(), "hourly_equivalent": serializers.IntegerField(allow_null=True)}
            )
        },
        description="Screens an ad without storing anything (partner systems, counselors checking an ad by hand).",
    )
    def post(self, request: Request) -> Response:
        s = ScreenInputSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        selectors.require_screening(request.user)
        risk = services.screen_posting(
            PostingFacts(
                title=d["title"],
                content=d["content"],
                wage_type=d.get("wage_type") or "",
                wage=d.get("wage"),
                hours_per_week=d.get("hours_per_week"),
            )
        )
        hourly = int(risk.hourly_equivalent) if risk.hourly_equivalent is not None else None
        return Response({"risk": risk.as_dict(), "hourly_equivalent": hourly})
