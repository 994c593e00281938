from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from centers.models import Center, CenterKind, Desk, Domain, Service
from centers.selectors import center_list, service_list
from core.api import ModelSerializer


class CenterSerializer(ModelSerializer):
    region = serializers.CharField(source="region.name", read_only=True)
    region_code = serializers.CharField(source="region.code", read_only=True)

    class Meta:
        model = Center
        fields = [
            "id",
            "code",
            "name",
            "name_en",
            "kind",
            "region",
            "region_code",
            "sigungu",
            "address",
            "latitude",
            "longitude",
            "phone",
            "active",
        ]


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
        "description": "Wall-clock time in Asia/Seoul, HH:MM:SS.",
        "example": "09:00:00",
    }
)
class LocalTimeField(serializers.TimeField):
    """Opening hours carry no UTC offset, so OpenAPI's `format: time` (RFC 3339, offset required) is wrong."""


class DeskSerializer(ModelSerializer):
    center = serializers.CharField(source="center.code", read_only=True)
    opens_at = LocalTimeField(read_only=True)
    closes_at = LocalTimeField(read_only=True)
    services: serializers.RelatedField = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Desk
        fields = [
            "id",
            "code",
            "name",
            "center",
            "domain",
            "outreach",
            "operator_kind",
            "services",
            "open_days",
            "opens_at",
            "closes_at",
            "capacity",
            "slot_minutes",
            "slot_places",
            "active",
        ]


class ServiceSerializer(ModelSerializer):
    outcomes: serializers.RelatedField = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Service
        fields = ["id", "code", "name", "name_en", "domain", "outcomes"]


class StrictBooleanField(forms.Field):
    """`true`/`false` (or 1/0); anything else is a 400, not silently "no filter" as django-filter does."""

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        lowered = str(value).strip().lower()
        if lowered in {"true", "1"}:
            return True
        if lowered in {"false", "0"}:
            return False
        raise ValidationError(_("Use true or false."), code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class CenterFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CenterKind.choices)
    region = django_filters.CharFilter(field_name="region__code")

    class Meta:
        model = Center
        fields = ["kind", "region"]


class DeskFilter(django_filters.FilterSet):
    center = django_filters.CharFilter(method="filter_center")
    domain = django_filters.ChoiceFilter(choices=Domain.choices)
    outreach = StrictBooleanFilter()
    service = django_filters.CharFilter(field_name="services__code")

    class Meta:
        model = Desk
        fields = ["center", "domain", "outreach", "service"]

    def filter_center(self, qs: QuerySet[Desk], name: str, value: str) -> QuerySet[Desk]:
        # isascii: "²".isdigit() is true but is no number.
        return qs.filter(center__pk=value) if value.isascii() and value.isdigit() else qs.filter(center__code=value)


class CenterViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CenterSerializer
    filterset_class = CenterFilter

    def get_queryset(self) -> QuerySet[Center]:
        return center_list().order_by("code")


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceSerializer
    lookup_field = "code"
    filterset_fields = ["domain"]

    def get_queryset(self) -> QuerySet[Service]:
        return service_list()
