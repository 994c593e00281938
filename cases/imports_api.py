"""Partner import batches over REST (API.md "Partner import batches"). Thin: parse at the edge, call one service."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from cases import imports, selectors
from cases.api import CenterStaffOnly
from cases.models import ImportBatch
from core.api import ModelSerializer


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row as the partner sees it (spreadsheet row; 1-based for JSON)")
    field = serializers.CharField()
    message = serializers.CharField(help_text="In Korean")


class ImportReportRowSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    client = serializers.IntegerField()
    matched = serializers.BooleanField(help_text="An existing client of the center was linked")
    case = serializers.IntegerField()
    referral = serializers.IntegerField()


class ImportBatchSerializer(ModelSerializer):
    rows = serializers.IntegerField(source="total_rows", read_only=True)
    valid = serializers.IntegerField(source="valid_rows", read_only=True)
    matched = serializers.IntegerField(source="matched_rows", read_only=True)
    new = serializers.IntegerField(source="new_rows", read_only=True)
    # The API's field name (API.md); DRF's metaclass moves declared fields off the class, so `.errors` still works.
    errors = ImportErrorSerializer(many=True, read_only=True)  # type: ignore[assignment]
    progress = serializers.SerializerMethodField(help_text="Percent done of the current step")
    report = serializers.SerializerMethodField()

    class Meta:
        model = ImportBatch
        fields = [
            "id",
            "status",
            "filename",
            "rows",
            "valid",
            "matched",
            "new",
            "errors",
            "progress",
            "report",
            "failure",
            "uploaded_by",
            "approved_by",
            "created_at",
            "applied_at",
        ]
        read_only_fields = fields

    def get_progress(self, batch: ImportBatch) -> int:
        return imports.import_progress(batch)

    @extend_schema_field(ImportReportRowSerializer(many=True))
    def get_report(self, batch: ImportBatch) -> list[dict[str, Any]]:
        return imports.import_report(batch)


UPLOAD = inline_serializer(
    "ImportUpload",
    fields={
        "file": serializers.FileField(required=False, help_text="CSV (UTF-8, CP949) or XLSX"),
        "rows": serializers.ListField(child=serializers.DictField(), required=False),
    },
)


class ImportBatchViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ImportBatchSerializer
    permission_classes = [IsAuthenticated, CenterStaffOnly]
    parser_classes = [JSONParser, MultiPartParser]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[ImportBatch]:
        return selectors.import_batch_list_for(self.request.user)

    @extend_schema(
        request={"multipart/form-data": UPLOAD, "application/json": UPLOAD},
        responses={
            201: ImportBatchSerializer,
            200: OpenApiResponse(ImportBatchSerializer, description="The same file was uploaded before"),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        selectors.pii_actor(request.user)
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size is not None:
                imports.check_upload_size(upload.size)
            parsed = imports.import_file_parse(content=upload.read(), filename=upload.name or "")
            name = upload.name or ""
        else:
            parsed = imports.import_json_parse(request.data)
            name = ""
        batch, created = imports.import_batch_create(user=request.user, parsed=parsed, filename=name)
        return Response(
            ImportBatchSerializer(batch).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(request=None, responses={200: ImportBatchSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str | None = None) -> Response:
        batch = imports.import_batch_approve(user=request.user, batch_id=self.get_object().pk)
        return Response(ImportBatchSerializer(batch).data)
