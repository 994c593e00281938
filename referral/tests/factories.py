"""Test data for referrals. Clients, consents and cases are written directly (the cases app owns their services)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.utils import timezone

from cases.models import Case, Channel, Client, Consent, ConsentMethod, ConsentPurpose
from centers.models import Center

ALL_KINDS = ["employment_welfare", "microfinance", "local_government", "midlife_career", "credit_recovery"]


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    center = factory.LazyFunction(lambda: Center.objects.get(code="EW-SEOUL-GWANAK"))
    name = factory.Sequence(lambda n: f"김연계{n}")
    birth_date = dt.date(1985, 3, 14)
    phone = factory.Sequence(lambda n: f"010-5555-{n % 10000:04d}")
    created_by = None  # set by the caller


class ConsentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consent

    client = factory.SubFactory(ClientFactory)
    purpose = ConsentPurpose.REFERRAL
    organization_kinds = factory.LazyFunction(lambda: list(ALL_KINDS))
    method = ConsentMethod.PAPER
    given_at = factory.LazyFunction(timezone.now)
    recorded_by = factory.SelfAttribute("client.created_by")


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    client = factory.SubFactory(ClientFactory)
    center = factory.SelfAttribute("client.center")
    counselor = factory.SelfAttribute("client.created_by")
    channel = Channel.WALK_IN
    note = "상담 메모: 보내는 센터 내부용"
    opened_at = factory.LazyFunction(timezone.now)


def case_with_consent(counselor, *, kinds: list[str] | None = None, center: Center | None = None) -> Any:
    """An open case at the counselor's center whose client consented to referral to `kinds` (default: all)."""
    center = center or counselor.staff.center
    client = ClientFactory(center=center, created_by=counselor)
    if kinds is None or kinds:
        ConsentFactory(client=client, organization_kinds=list(ALL_KINDS if kinds is None else kinds))
    return CaseFactory(client=client, center=center, counselor=counselor)
