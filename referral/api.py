"""REST API for referrals (API.md "Referrals"). Thin: parse, call one service or selector, shape."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from centers.api import DeskFilter, DeskSerializer
from centers.models import Desk
from core.api import ModelSerializer
from referral import selectors, services
from referral.models import CancelReason, DeclineReason, FailReason, Priority, Referral, ReferralEvent


class ClientMinimalSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    phone = serializers.CharField()


class EventSerializer(ModelSerializer):
    status = serializers.CharField(source="to_status")
    by = serializers.SerializerMethodField()
    desk = serializers.CharField(source="desk.code", default=None, allow_null=True)

    class Meta:
        model = ReferralEvent
        fields = ["kind", "status", "from_status", "at", "by", "desk", "reason", "note", "data"]

    def get_by(self, obj: ReferralEvent) -> str | None:
        return obj.by.get_username() if obj.by else None


class ReferralSerializer(ModelSerializer):
    client = ClientMinimalSerializer()
    service = serializers.CharField(source="service.code")
    from_center = serializers.CharField(source="from_center.code")
    to_desk = serializers.CharField(source="to_desk.code", default=None, allow_null=True)
    to_center = serializers.CharField(source="to_center.code", default=None, allow_null=True)
    assigned_to = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    next_due = serializers.DateTimeField(read_only=True, default=None, allow_null=True)

    class Meta:
        model = Referral
        fields = [
            "id",
            "case",
            "client",
            "service",
            "priority",
            "status",
            "status_label",
            "from_center",
            "to_desk",
            "to_center",
            "assigned_to",
            "colocated",
            "created_at",
            "routed_at",
            "accepted_at",
            "started_at",
            "closed_at",
            "accept_due_at",
            "contact_due_at",
            "close_due_at",
            "next_due",
            "outcome",
            "achieved",
            "outcome_detail",
            "reason",
            "note",
        ]

    def get_assigned_to(self, obj: Referral) -> int | None:
        return obj.assigned_to_id

    def get_status_label(self, obj: Referral) -> str:
        return services.status_label(obj.status, obj.to_desk_id is not None)


class ReferralDetailSerializer(ReferralSerializer):
    events = EventSerializer(many=True, read_only=True)
    routing = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "events", "routing", "allowed_actions"]

    def get_routing(self, obj: Referral) -> dict[str, Any]:
        return selectors.routing_of(obj)

    def get_allowed_actions(self, obj: Referral) -> list[str]:
        from centers.selectors import actor_for

        return services.allowed_actions(obj, actor_for(self.context["request"].user))


class CreateSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    service = serializers.CharField(max_length=40)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AcceptSerializer(serializers.Serializer):
    assigned_to = serializers.IntegerField(required=False, allow_null=True)


class AssignSerializer(serializers.Serializer):
    assigned_to = serializers.IntegerField()


class DeclineSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=DeclineReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class NoteSerializer(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CompleteSerializer(serializers.Serializer):
    outcome = serializers.CharField(max_length=40)
    achieved = serializers.BooleanField(required=False, allow_null=True, default=None)
    detail = serializers.DictField(required=False, default=dict)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class FailSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(choices=FailReason.choices)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class CancelSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=[c for c in CancelReason.choices if c[0] != CancelReason.CONSENT_WITHDRAWN]
    )
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ListParams(serializers.Serializer):
    box = serializers.ChoiceField(choices=[selectors.INCOMING, selectors.OUTGOING], default=selectors.INCOMING)
    status = serializers.CharField(required=False, default="", allow_blank=True)
    desk = serializers.CharField(required=False, default="", allow_blank=True)
    service = serializers.CharField(required=False, default="", allow_blank=True)
    priority = serializers.CharField(required=False, default="", allow_blank=True)
    overdue = serializers.BooleanField(required=False, default=False)
    assigned = serializers.ChoiceField(choices=["", "mine", "unassigned"], required=False, default="")
    sort = serializers.ChoiceField(choices=["due", "created", "-created"], required=False, default="due")


class ReferralViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = ReferralSerializer

    def get_queryset(self) -> QuerySet[Referral]:
        if self.action == "list":
            params = ListParams(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            p = params.validated_data
            filters = selectors.QueueFilters(**{k: v for k, v in p.items() if k != "box"})
            return selectors.referral_list_for(self.request.user, box=p["box"], filters=filters)
        return selectors.referrals_visible_to(self.request.user)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        referral = selectors.referral_get_for_api(request.user, self._pk())
        services.referral_pii_read(
            by=request.user, referral=referral, view="api:referral-detail", ip=request.META.get("REMOTE_ADDR")
        )
        return Response(ReferralDetailSerializer(referral, context={"request": request}).data)

    def _pk(self) -> int:
        raw = str(self.kwargs.get("pk", ""))
        if not raw.isdigit():
            raise Http404
        return int(raw)

    def _answer(self, request: Request, referral_id: int) -> Response:
        referral = selectors.referral_get_for_api(request.user, referral_id)
        return Response(ReferralDetailSerializer(referral, context={"request": request}).data)

    @extend_schema(request=CreateSerializer, responses={201: ReferralDetailSerializer})
    def create(self, request: Request) -> Response:
        s = CreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        referral = services.referral_create(
            by=request.user,
            case_id=s.validated_data["case"],
            service_code=s.validated_data["service"],
            priority=s.validated_data["priority"],
            note=s.validated_data["note"],
        )
        # The service's own rows (client, service, sending center and the create event in hand): no
        # read-back. Routing is asynchronous, so the answer is the referral as created, not yet at a desk.
        return Response(
            ReferralDetailSerializer(referral, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    def _act(self, request: Request, serializer_class: type[serializers.Serializer] | None, call: Any) -> Response:
        pk = self._pk()
        # Scope first: a referral outside the caller's center answers 404 whatever the action.
        selectors.referral_check_visible(request.user, pk)
        data: dict[str, Any] = {}
        if serializer_class is not None:
            s = serializer_class(data=request.data)
            s.is_valid(raise_exception=True)
            data = dict(s.validated_data)
        done = call(pk, data)
        try:
            return self._answer(request, pk)
        except Http404:
            # A decline hands the referral back to routing, out of the caller's scope: the action
            # succeeded, so answer 200 with the referral as the action left it (nothing newer).
            return Response(ReferralDetailSerializer(done, context={"request": request}).data)

    @extend_schema(request=AcceptSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            AcceptSerializer,
            lambda rid, d: services.referral_accept(referral_id=rid, by=request.user, assigned_to=d.get("assigned_to")),
        )

    @extend_schema(request=DeclineSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            DeclineSerializer,
            lambda rid, d: services.referral_decline(
                referral_id=rid, by=request.user, reason=d["reason"], note=d["note"]
            ),
        )

    @extend_schema(request=AssignSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            AssignSerializer,
            lambda rid, d: services.referral_assign(referral_id=rid, by=request.user, assigned_to=d["assigned_to"]),
        )

    @extend_schema(request=NoteSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            NoteSerializer,
            lambda rid, d: services.referral_start(referral_id=rid, by=request.user, note=d["note"]),
        )

    @extend_schema(request=NoteSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def hold(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            NoteSerializer,
            lambda rid, d: services.referral_hold(referral_id=rid, by=request.user, note=d["note"]),
        )

    @extend_schema(request=NoteSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            NoteSerializer,
            lambda rid, d: services.referral_resume(referral_id=rid, by=request.user, note=d["note"]),
        )

    @extend_schema(request=CompleteSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def complete(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            CompleteSerializer,
            lambda rid, d: services.referral_complete(
                referral_id=rid,
                by=request.user,
                outcome=d["outcome"],
                achieved=d["achieved"],
                detail=d["detail"],
                note=d["note"],
            ),
        )

    @extend_schema(request=FailSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def fail(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            FailSerializer,
            lambda rid, d: services.referral_fail(referral_id=rid, by=request.user, reason=d["reason"], note=d["note"]),
        )

    @extend_schema(request=CancelSerializer, responses=ReferralDetailSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._act(
            request,
            CancelSerializer,
            lambda rid, d: services.referral_cancel(
                referral_id=rid, by=request.user, reason=d["reason"], note=d["note"]
            ),
        )


class DeskLoadSerializer(DeskSerializer):
    open_referrals = serializers.IntegerField(read_only=True)

    class Meta(DeskSerializer.Meta):
        fields = [*DeskSerializer.Meta.fields, "open_referrals"]


class DeskViewSet(viewsets.ReadOnlyModelViewSet):
    """The directory's desks with their load; served here because the load counts referrals."""

    serializer_class = DeskLoadSerializer
    filterset_class = DeskFilter

    def get_queryset(self) -> QuerySet[Desk]:
        return selectors.desk_list_with_load().order_by("code")
