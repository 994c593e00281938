"""Raw rows for statistics tests: clients, cases, referrals and their events, on the real directory."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import factory
from django.contrib.auth import get_user_model

from cases.models import Case, Channel, Client, Gender
from centers.models import Center, Desk, Service
from referral.models import EventKind, Referral, ReferralEvent, Status
from stats.definitions import SEOUL


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"stats-staff-{n}")


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    center = factory.LazyFunction(lambda: Center.objects.get(code="EW-SEOUL-GWANAK"))
    name = factory.Sequence(lambda n: f"내담자{n}")
    birth_date = date(1980, 5, 17)
    phone = factory.Sequence(lambda n: f"010-{n // 10000 % 10000:04d}-{n % 10000:04d}")
    gender = Gender.FEMALE
    created_by = factory.SubFactory(UserFactory)


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    client = factory.SubFactory(ClientFactory)
    center = factory.SelfAttribute("client.center")
    counselor = factory.SelfAttribute("client.created_by")
    channel = Channel.WALK_IN
    opened_at = factory.LazyFunction(lambda: datetime(2026, 3, 10, 10, 0, tzinfo=SEOUL))


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    case = factory.SubFactory(CaseFactory)
    client = factory.SelfAttribute("case.client")
    service = factory.LazyFunction(lambda: Service.objects.get(code="policy_microloan"))
    from_center = factory.SelfAttribute("case.center")
    created_by = factory.SelfAttribute("case.counselor")
    created_at = factory.LazyAttribute(lambda o: o.case.opened_at + timedelta(minutes=20))
    status = Status.REQUESTED


def routed_to(desk_code: str) -> dict:
    desk = Desk.objects.select_related("center").get(code=desk_code)
    return {"to_desk": desk, "to_center": desk.center}


class ReferralEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ReferralEvent

    referral = factory.SubFactory(ReferralFactory)
    at = factory.LazyAttribute(lambda o: o.referral.created_at + timedelta(hours=1))
    kind = EventKind.DECLINE
