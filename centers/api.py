from __future__ import annotations

import django_filters
from django.db.models import QuerySet
from rest_framework import serializers, viewsets

from centers.models import Center, CenterKind, Desk, Domain, Service
from centers.selectors import center_list, desk_list, service_list


class CenterSerializer(serializers.ModelSerializer):
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


class DeskSerializer(serializers.ModelSerializer):
    center = serializers.CharField(source="center.code", read_only=True)
    services: serializers.RelatedField = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    open_referrals = serializers.IntegerField(read_only=True)

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
            "open_referrals",
            "active",
        ]


class ServiceSerializer(serializers.ModelSerializer):
    outcomes: serializers.RelatedField = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Service
        fields = ["id", "code", "name", "name_en", "domain", "outcomes"]


class CenterFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=CenterKind.choices)
    region = django_filters.CharFilter(field_name="region__code")

    class Meta:
        model = Center
        fields = ["kind", "region"]


class DeskFilter(django_filters.FilterSet):
    center = django_filters.CharFilter(method="filter_center")
    domain = django_filters.ChoiceFilter(choices=Domain.choices)
    outreach = django_filters.BooleanFilter()
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


class DeskViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeskSerializer
    filterset_class = DeskFilter

    def get_queryset(self) -> QuerySet[Desk]:
        return desk_list().order_by("code")


class ServiceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ServiceSerializer
    lookup_field = "code"
    filterset_fields = ["domain"]

    def get_queryset(self) -> QuerySet[Service]:
        return service_list()
