"""REST API for referrals (API.md "Referrals"). Thin: parse, call one service or selector, shape."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action as action_decorator
from rest_framework.exceptions import NotAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from centers.api import DeskFilter, DeskSerializer
from centers.models import Desk
from centers.slots import MAX_DAYS_AHEAD, MAX_RANGE_DAYS
from core.api import ModelSerializer
from core.http import client_ip
from referral import lifecycle, selectors, services
from referral.lifecycle import Action, ActionInput, Assignee
from referral.models import Priority, Referral, ReferralEvent, ReferralPosting
from referral.slip import slip_filename, slip_pdf


def _by(request: Request) -> User:
    """The signed-in staff member (IsAuthenticated, the default permission, let only them this far)."""
    if not isinstance(request.user, User):
        raise NotAuthenticated
    return request.user


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


class AppointmentSerializer(serializers.Serializer):
    """The client's first meeting at the receiving desk (Asia/Seoul times with their offset)."""

    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    desk = serializers.CharField(source="desk.code")


class ReferralSerializer(ModelSerializer):
    client = ClientMinimalSerializer()
    service = serializers.CharField(source="service.code")
    from_center = serializers.CharField(source="from_center.code")
    to_desk = serializers.CharField(source="to_desk.code", default=None, allow_null=True)
    to_center = serializers.CharField(source="to_center.code", default=None, allow_null=True)
    assigned_to = serializers.SerializerMethodField()
    status_label = serializers.SerializerMethodField()
    next_due = serializers.DateTimeField(read_only=True, default=None, allow_null=True)
    appointment = serializers.SerializerMethodField()

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
            "appointment",
        ]

    @extend_schema_field(AppointmentSerializer(allow_null=True))
    def get_appointment(self, obj: Referral) -> dict[str, Any] | None:
        a = services.active_appointment(obj)
        return dict(AppointmentSerializer(a).data) if a is not None else None

    def get_assigned_to(self, obj: Referral) -> int | None:
        return obj.assigned_to_id

    def get_status_label(self, obj: Referral) -> str:
        return lifecycle.status_label(obj.status, obj.to_desk_id is not None)


class OfferedPostingSerializer(serializers.Serializer):
    """A job posting offered on the referral, with its risk as jobs' screening and review rate it now."""

    id = serializers.IntegerField(source="posting_id")
    title = serializers.CharField(source="posting.title")
    employer = serializers.SerializerMethodField()
    suspect = serializers.SerializerMethodField()
    risk_level = serializers.CharField(source="posting.risk_level")

    def get_employer(self, obj: ReferralPosting) -> str:
        return str(obj.posting.employer) if obj.posting.employer else ""

    def get_suspect(self, obj: ReferralPosting) -> bool:
        return bool(obj.posting.employer and obj.posting.employer.suspect)


class OfferSerializer(serializers.Serializer):
    postings = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=20)
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ReferralDetailSerializer(ReferralSerializer):
    events = EventSerializer(many=True, read_only=True)
    postings = OfferedPostingSerializer(many=True, read_only=True)
    routing = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()

    class Meta(ReferralSerializer.Meta):
        fields = [*ReferralSerializer.Meta.fields, "events", "postings", "routing", "allowed_actions"]

    def get_routing(self, obj: Referral) -> dict[str, Any]:
        return selectors.routing_of(obj)

    def get_allowed_actions(self, obj: Referral) -> list[str]:
        from centers.selectors import actor_for

        return services.allowed_actions(obj, actor_for(self.context["request"].user))


class BookSerializer(serializers.Serializer):
    start = serializers.DateTimeField(help_text="The start of one of the desk's slots (GET /api/v1/desks/{id}/slots/).")


class SlotSerializer(serializers.Serializer):
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    capacity = serializers.IntegerField()
    booked = serializers.IntegerField()
    available = serializers.IntegerField()


class SlotParams(serializers.Serializer):
    """`?from=YYYY-MM-DD&to=YYYY-MM-DD` (`from` is a Python keyword: the fields are named in get_fields)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return {"from": serializers.DateField(), "to": serializers.DateField()}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        first, last = attrs["from"], attrs["to"]
        if last < first:
            raise serializers.ValidationError({"to": [_("The last day comes before the first.")]})
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise serializers.ValidationError(
                {"to": [_("Ask for at most %(n)s days of slots at once.") % {"n": MAX_RANGE_DAYS}]}
            )
        if last > timezone.localdate() + dt.timedelta(days=MAX_DAYS_AHEAD):
            raise serializers.ValidationError(
                {"to": [_("Slots can be booked at most %(n)s days ahead.") % {"n": MAX_DAYS_AHEAD}]}
            )
        return attrs


class CreateSerializer(serializers.Serializer):
    case = serializers.IntegerField()
    service = serializers.CharField(max_length=40)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.NORMAL)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


def _action_serializer(action: Action, name: str = "") -> type[serializers.Serializer]:
    """The request body of `POST /api/v1/referrals/{id}/<action>/`, from the action's inputs in the table."""
    fields: dict[str, serializers.Field] = {}
    if action.assignee == Assignee.REQUIRED:
        fields["assigned_to"] = serializers.IntegerField()
    elif action.assignee == Assignee.OPTIONAL:
        fields["assigned_to"] = serializers.IntegerField(required=False, allow_null=True)
    if action.reasons is not None:
        fields["reason"] = serializers.ChoiceField(choices=action.reason_choices)
    if action.outcome:
        fields["outcome"] = serializers.CharField(max_length=40)
        fields["achieved"] = serializers.BooleanField(required=False, allow_null=True, default=None)
        fields["detail"] = serializers.DictField(required=False, default=dict)
    if action.posting:
        fields["employer_posting"] = serializers.IntegerField(required=False, allow_null=True, default=None)
        fields["warning_reason"] = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    if action.note:
        fields["note"] = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    # A test holds these names equal to what the service takes (Action.input_names).
    return type(name or f"{action.code.capitalize()}Serializer", (serializers.Serializer,), fields)


def _action_serializers() -> dict[str, type[serializers.Serializer]]:
    out: dict[str, type[serializers.Serializer]] = {}
    note_only: type[serializers.Serializer] | None = None
    for a in lifecycle.USER_ACTIONS:
        if a.input_names == ("note",):
            # Actions that take only a note share one body: one `NoteRequest` component in the schema.
            note_only = note_only or _action_serializer(a, name="NoteSerializer")
            out[a.code] = note_only
        else:
            out[a.code] = _action_serializer(a)
    return out


ACTION_SERIALIZERS = _action_serializers()


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
            by=_by(request), referral=referral, view="api:referral-detail", ip=client_ip(request)
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
            by=_by(request),
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

    @extend_schema(request=OfferSerializer, responses=ReferralDetailSerializer)
    @action_decorator(detail=True, methods=["post"], url_path="postings")
    def postings(self, request: Request, pk: str | None = None) -> Response:
        """Offer job postings to the client of a job placement referral (409 `risky_posting` without a
        reason when one of them is risky)."""
        referral_id = self._pk()
        selectors.referral_check_visible(request.user, referral_id)
        s = OfferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        services.referral_offer_postings(
            by=_by(request),
            referral_id=referral_id,
            posting_ids=s.validated_data["postings"],
            reason=s.validated_data["reason"],
        )
        return self._answer(request, referral_id)

    @extend_schema(methods=["POST"], request=BookSerializer, responses=ReferralDetailSerializer)
    @extend_schema(methods=["DELETE"], request=None, responses={200: ReferralDetailSerializer})
    @action_decorator(detail=True, methods=["post", "delete"])
    def appointment(self, request: Request, pk: str | None = None) -> Response:
        """Book (or rebook) the first meeting at the receiving desk: one of its slots (409
        `slot_unavailable` when full or not a slot); DELETE frees it. Either side, while open."""
        referral_id = self._pk()
        selectors.referral_check_visible(request.user, referral_id)
        if request.method == "DELETE":
            services.appointment_cancel(by=_by(request), referral_id=referral_id)
        else:
            s = BookSerializer(data=request.data)
            s.is_valid(raise_exception=True)
            services.appointment_book(by=_by(request), referral_id=referral_id, start=s.validated_data["start"])
        return self._answer(request, referral_id)

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY})
    @action_decorator(detail=True, methods=["get"])
    def slip(self, request: Request, pk: str | None = None, format: str | None = None) -> HttpResponse:  # noqa: A002
        """The client's referral slip (A4 Korean PDF), written to the access record as a print."""
        referral = selectors.referral_get_for_slip(request.user, self._pk())
        pdf = slip_pdf(referral)
        services.referral_slip_print(
            by=_by(request), referral=referral, view="api:referral-slip", ip=client_ip(request)
        )
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="{slip_filename(referral)}"'
        return response

    def _act(self, request: Request, action: str) -> Response:
        pk = self._pk()
        # Scope first: a referral outside the caller's center answers 404 whatever the action.
        selectors.referral_check_visible(request.user, pk)
        s = ACTION_SERIALIZERS[action](data=request.data)
        s.is_valid(raise_exception=True)
        done = services.referral_act(
            referral_id=pk, by=_by(request), action=action, inputs=ActionInput(**s.validated_data)
        )
        try:
            return self._answer(request, pk)
        except Http404:
            # A decline hands the referral back to routing, out of the caller's scope: the action
            # succeeded, so answer 200 with the referral as the action left it (nothing newer).
            return Response(ReferralDetailSerializer(done, context={"request": request}).data)


def _lifecycle_endpoint(action: Action) -> Any:
    """`POST /api/v1/referrals/{id}/<code>/` for one action of the lifecycle table."""

    def endpoint(self: ReferralViewSet, request: Request, pk: str | None = None) -> Response:
        return self._act(request, action.code)

    endpoint.__name__ = endpoint.__qualname__ = action.code
    routed = action_decorator(detail=True, methods=["post"])(endpoint)
    return extend_schema(request=ACTION_SERIALIZERS[action.code], responses=ReferralDetailSerializer)(routed)


# The actions are generated from the table, before the router reads them (api_urls imports this module).
for _action in lifecycle.USER_ACTIONS:
    setattr(ReferralViewSet, _action.code, _lifecycle_endpoint(_action))


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

    @extend_schema(
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, required=True, description="First day (Asia/Seoul)."),
            OpenApiParameter(
                "to", OpenApiTypes.DATE, required=True, description="Last day, included; at most 62 days in all."
            ),
        ],
        responses=SlotSerializer(many=True),
        filters=False,
    )
    @action_decorator(detail=True, methods=["get"], pagination_class=None, filterset_class=None)
    def slots(self, request: Request, pk: str | None = None, format: str | None = None) -> Response:  # noqa: A002
        """The desk's bookable slots between two days with the places taken; closed days have none."""
        raw = str(pk or "")
        if not (raw.isascii() and raw.isdigit()):
            raise Http404
        desk = selectors.desk_for_slots(int(raw))
        params = SlotParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        first, last = params.validated_data["from"], params.validated_data["to"]
        rows = selectors.desk_slot_load(desk, first=first, last=last)
        return Response(SlotSerializer(rows, many=True).data)
