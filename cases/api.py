"""Clients, consents and cases over REST. Serializers only shape data; the services hold the rules."""

from __future__ import annotations

from typing import Any

from django.db.models import FilteredRelation, Q, QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases import inputs, selectors, services
from cases.models import (
    Case,
    CaseNote,
    CaseResult,
    CaseStatus,
    Channel,
    Client,
    Consent,
    ConsentMethod,
    ConsentPurpose,
    DebtStatus,
    EmploymentStatus,
    Gender,
    IncomeBand,
    Need,
    ProcessingStop,
)
from centers.models import CenterKind, Domain
from centers.selectors import actor_for
from core.api import BlankAsNullChoiceField, ModelSerializer
from core.errors import InvalidInput
from core.http import client_ip


class CenterStaffOnly(BasePermission):
    """Personal data is for counselors and managers of a center; ministry and admin get 403."""

    message = "Your role has no access to personal data."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return actor_for(request.user).is_center_staff


# --- serializers -----------------------------------------------------------------------------------


class ClientSerializer(ModelSerializer):
    rrn = serializers.CharField(source="rrn_masked", read_only=True, help_text="Masked, e.g. 900101-1******")
    region = serializers.CharField(source="region.code", read_only=True, allow_null=True, default=None)
    gender = BlankAsNullChoiceField(choices=Gender.choices, read_only=True, help_text="null when not stated.")

    class Meta:
        model = Client
        fields = [
            "id",
            "center",
            "name",
            "birth_date",
            "phone",
            "rrn",
            "gender",
            "region",
            "household_size",
            "income_band",
            "employment_status",
            "debt_status",
            "arrears_days",
            "created_at",
        ]
        read_only_fields = fields


class ClientInputSerializer(serializers.Serializer):
    """The JSON shape of a client; `validate` turns it into one ClientFacts with the parsers of cases.inputs."""

    name = serializers.CharField(max_length=200)
    birth_date = serializers.DateField()
    phone = serializers.CharField(max_length=40)
    rrn = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=20, write_only=True)
    gender = BlankAsNullChoiceField(
        choices=Gender.choices, required=False, allow_blank=True, help_text="null, blank or omitted: not stated."
    )
    region = serializers.CharField(required=False, allow_blank=True, allow_null=True, max_length=2)
    household_size = serializers.IntegerField(
        required=False, allow_null=True, min_value=inputs.HOUSEHOLD_MIN, max_value=inputs.HOUSEHOLD_MAX
    )
    income_band = serializers.ChoiceField(choices=IncomeBand.choices, required=False)
    employment_status = serializers.ChoiceField(choices=EmploymentStatus.choices, required=False)
    debt_status = serializers.ChoiceField(choices=DebtStatus.choices, required=False)
    arrears_days = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=inputs.ARREARS_MAX)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        values, errors = inputs.client_fields_parse(attrs, inputs.CLIENT_FIELDS)
        if not errors:
            try:
                return {"facts": inputs.client_facts_build(values)}
            except InvalidInput as exc:
                errors = [exc]
        raise ValidationError({exc.field or "non_field_errors": [exc.detail] for exc in errors})


class ConsentSerializer(ModelSerializer):
    class Meta:
        model = Consent
        fields = [
            "id",
            "client",
            "purpose",
            "organization_kinds",
            "method",
            "notice_version",
            "given_at",
            "expires_at",
            "recorded_by",
            "withdrawn_at",
            "withdrawn_by",
        ]
        read_only_fields = fields


class ConsentInputSerializer(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    organization_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=CenterKind.choices), required=False, allow_empty=True, max_length=10
    )
    method = serializers.ChoiceField(choices=ConsentMethod.choices)


class NeedSerializer(ModelSerializer):
    class Meta:
        model = Need
        fields = ["domain", "code", "note"]


class NeedInputSerializer(serializers.Serializer):
    domain = serializers.ChoiceField(choices=Domain.choices)
    code = serializers.CharField(max_length=40)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500)


class CaseNoteSerializer(ModelSerializer):
    author = serializers.CharField(source="author.get_username", read_only=True)

    class Meta:
        model = CaseNote
        fields = ["id", "author", "text", "created_at"]
        read_only_fields = fields


class CaseSerializer(ModelSerializer):
    needs = NeedSerializer(many=True, read_only=True)
    result = BlankAsNullChoiceField(choices=CaseResult.choices, read_only=True, help_text="null while open.")

    class Meta:
        model = Case
        fields = [
            "id",
            "client",
            "center",
            "counselor",
            "channel",
            "status",
            "needs",
            "note",
            "opened_at",
            "closed_at",
            "result",
        ]
        read_only_fields = fields


class CaseAppointmentSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    desk = serializers.CharField()


class CaseReferralSerializer(serializers.Serializer):
    """A referral of the case as plain values (cases may not import referral: read through `case.referrals`)."""

    id = serializers.IntegerField()
    service = serializers.CharField(source="service__code")
    status = serializers.CharField()
    to_center = serializers.CharField(source="to_center__code", allow_null=True)
    to_desk = serializers.CharField(source="to_desk__code", allow_null=True)
    appointment = serializers.SerializerMethodField()
    outcome = serializers.CharField()

    @extend_schema_field(CaseAppointmentSerializer(allow_null=True))
    def get_appointment(self, row: dict[str, Any]) -> dict[str, Any] | None:
        if row.get("appt__start") is None:
            return None
        values = {"start": row["appt__start"], "end": row["appt__end"], "desk": row["appt__desk__code"]}
        return dict(CaseAppointmentSerializer(values).data)


class CaseDetailSerializer(CaseSerializer):
    notes = CaseNoteSerializer(many=True, read_only=True)
    referrals = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "notes", "referrals"]
        read_only_fields = fields

    @extend_schema_field(CaseReferralSerializer(many=True))
    def get_referrals(self, obj: Case) -> list[dict[str, Any]]:
        # One joined query of values; codes as in the referral API's answers. The appointment is the one
        # holding a place (at most one a referral: a partial unique constraint of referral.Appointment).
        rows = (
            obj.referrals.annotate(  # type: ignore[attr-defined]
                appt=FilteredRelation("appointments", condition=Q(appointments__cancelled_at__isnull=True))
            )
            .order_by("created_at", "pk")
            .values(
                "id",
                "status",
                "outcome",
                "service__code",
                "to_center__code",
                "to_desk__code",
                "appt__start",
                "appt__end",
                "appt__desk__code",
            )
        )
        return list(CaseReferralSerializer(rows, many=True).data)


class CaseInputSerializer(serializers.Serializer):
    """The JSON shape of a case opening; `validate` turns it into one CaseOpening with cases.inputs."""

    client = serializers.IntegerField(min_value=1)
    channel = serializers.ChoiceField(choices=Channel.choices)
    needs = serializers.ListField(child=NeedInputSerializer(), required=False, max_length=inputs.MAX_NEEDS)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        raw = {**attrs, "needs": [dict(n) for n in attrs.get("needs", [])]}
        values, errors = inputs.case_opening_fields_parse(raw)
        if errors:
            raise ValidationError({exc.field or "non_field_errors": [exc.detail] for exc in errors})
        return {"client": attrs["client"], "opening": inputs.CaseOpening(**values)}


class NoteInputSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=4000)


class CloseInputSerializer(serializers.Serializer):
    result = serializers.ChoiceField(choices=CaseResult.choices, required=False, default=CaseResult.RESOLVED)
    note = serializers.CharField(required=False, allow_blank=True, max_length=4000)


DUPLICATE_RESPONSE = inline_serializer(
    "DuplicateClient",
    fields={
        "detail": serializers.CharField(),
        "code": serializers.CharField(),
        "existing_id": serializers.IntegerField(),
    },
)


# --- viewsets --------------------------------------------------------------------------------------


class ClientViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ClientSerializer
    permission_classes = [IsAuthenticated, CenterStaffOnly]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Client]:
        return selectors.client_list_for(self.request.user).order_by("name", "pk")

    @extend_schema(
        parameters=[OpenApiParameter("q", OpenApiTypes.STR, description="Name, phone or birth date (YYYY-MM-DD)")]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        q = request.query_params.get("q", "")
        found: Any = (
            selectors.client_search(request.user, q, limit=50)
            if q.strip()
            # Like the search, the list leaves out clients who asked to stop the processing (Act §37).
            else self.get_queryset().exclude(processing_stopped=ProcessingStop.SUSPENDED)
        )
        # Search results (at most 50) are paged like the list, so `page` and `page_size` mean the same
        # on both (the fuzz test found `page` silently ignored on a search).
        rows = self.paginate_queryset(found) or []
        services.pii_access_log_write(
            user=request.user, clients=rows, view="api:client_list", ip_address=client_ip(request)
        )
        return self.get_paginated_response(ClientSerializer(rows, many=True).data)

    @extend_schema(request=ClientInputSerializer, responses={201: ClientSerializer, 409: DUPLICATE_RESPONSE})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = ClientInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        client = services.client_register(user=request.user, facts=payload.validated_data["facts"])
        return Response(ClientSerializer(client).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        client = self.get_object()
        services.pii_access_log_write(
            user=request.user, clients=[client], view="api:client_detail", ip_address=client_ip(request)
        )
        return Response(ClientSerializer(client).data)

    @extend_schema(request=ConsentInputSerializer, responses={201: ConsentSerializer})
    @action(detail=True, methods=["post"])
    def consents(self, request: Request, pk: str | None = None) -> Response:
        client = self.get_object()
        payload = ConsentInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        consent = services.consent_record(user=request.user, client=client, **payload.validated_data)
        return Response(ConsentSerializer(consent).data, status=status.HTTP_201_CREATED)


class ConsentViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ConsentSerializer
    permission_classes = [IsAuthenticated, CenterStaffOnly]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Consent]:
        actor = selectors.pii_actor(self.request.user)
        return Consent.objects.filter(client__center_id=actor.center_id or 0)

    @extend_schema(request=None, responses={200: ConsentSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        consent = services.consent_withdraw(user=request.user, consent=self.get_object())
        return Response(ConsentSerializer(consent).data)


class CaseViewSet(mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CaseSerializer
    permission_classes = [IsAuthenticated, CenterStaffOnly]
    filter_backends: list[Any] = []
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[Case]:
        params = self.request.query_params
        state = params.get("status") or None
        if self.action == "list" and state is not None and state not in CaseStatus.values:
            raise ValidationError({"status": ["Select a valid choice."]})
        mine = False
        if self.action == "list" and "mine" in params:
            flag = serializers.BooleanField()
            try:
                mine = flag.run_validation(params["mine"])
            except ValidationError as exc:
                raise ValidationError({"mine": exc.detail}) from None
        if self.action != "list":
            state, mine = None, False
        return selectors.case_list_for(self.request.user, status=state, mine=mine)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return CaseDetailSerializer if self.action == "retrieve" else CaseSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=CaseStatus.values),
            OpenApiParameter("mine", OpenApiTypes.BOOL),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(request=CaseInputSerializer, responses={201: CaseSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = CaseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            client = selectors.client_get_for_user(request.user, data["client"])
        except Http404:
            raise ValidationError({"client": ["No such client at your center."]}) from None
        case = services.case_open(user=request.user, client=client, opening=data["opening"])
        # The service's own row and needs: nothing is read back.
        return Response(CaseSerializer(case).data, status=201)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        case = selectors.case_get_for_user(request.user, kwargs["pk"])
        services.pii_access_log_write(
            user=request.user, clients=[case.client_id], view="api:case_detail", ip_address=client_ip(request)
        )
        return Response(CaseDetailSerializer(case).data)

    @extend_schema(request=NoteInputSerializer, responses={201: CaseNoteSerializer})
    @action(detail=True, methods=["post"])
    def notes(self, request: Request, pk: str | None = None) -> Response:
        case = selectors.case_get_for_user(request.user, pk)
        payload = NoteInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        note = services.case_note_add(user=request.user, case=case, text=payload.validated_data["text"])
        return Response(CaseNoteSerializer(note).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=CloseInputSerializer, responses={200: CaseSerializer})
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> Response:
        case = selectors.case_get_for_user(request.user, pk)
        payload = CloseInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        services.case_close(user=request.user, case=case, **payload.validated_data)
        return Response(CaseSerializer(selectors.case_get_for_user(request.user, pk)).data)
