"""The one raw-row module of the suite: the statistics need referrals with any history at any date (months
ago, declined twice, completed late), which no service writes. Factories for single raw rows, and random
referral histories (from hypothesis draws or a seeded random) built of them. Every other app's test data
goes through its services (cases/tests/factories.py, referral/tests/factories.py, jobs/tests/factories.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import factory
from django.contrib.auth import get_user_model
from hypothesis import strategies as st

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


CENTERS = ["EW-SEOUL-GWANAK", "MF-SEOUL-GWANAK", "EW-BUSAN-SAHA", "LG-SEOUL-GWANAK"]
DESKS = ["EW-SEOUL-GWANAK-FIN-OUT", "EW-SEOUL-GWANAK-WEL", "MF-SEOUL-GWANAK-FIN", "MF-SEOUL-GWANAK-EMP-OUT",
         "LG-SEOUL-GWANAK-WEL", "EW-BUSAN-SAHA-EMP"]  # fmt: skip
SERVICES = ["job_placement", "basic_livelihood", "policy_microloan", "credit_counseling"]
OUTCOMES = {"job_placement": ["hired", "not_hired"], "basic_livelihood": ["granted", "denied"],
            "policy_microloan": ["loan_granted", "loan_denied"], "credit_counseling": ["counseled"]}  # fmt: skip
# Start of the window: 2026-01-01 00:00 Seoul. Offsets near month ends exercise the Seoul/UTC boundary.
BASE = datetime(2026, 1, 1, tzinfo=SEOUL)
BOUNDARIES = [30 * 24 * 60 + 23 * 60 + 59, 31 * 24 * 60, 31 * 24 * 60 + 1, 59 * 24 * 60 - 1, 59 * 24 * 60]

referral_spec = st.fixed_dictionaries(
    {
        "client": st.integers(0, 7),
        "center": st.integers(0, len(CENTERS) - 1),
        "service": st.integers(0, len(SERVICES) - 1),
        "desk": st.one_of(st.none(), st.integers(0, len(DESKS) - 1)),
        "minute": st.one_of(st.integers(0, 85 * 24 * 60), st.sampled_from(BOUNDARIES)),
        "status": st.sampled_from(list(Status.values)),
        "accept_min": st.one_of(st.none(), st.integers(0, 6 * 24 * 60)),
        "close_min": st.integers(0, 40 * 24 * 60),
        "accept_due_min": st.one_of(st.none(), st.integers(0, 4 * 24 * 60)),
        "close_due_min": st.one_of(st.none(), st.integers(0, 30 * 24 * 60)),
        "achieved": st.booleans(),
        "outcome": st.integers(0, 1),
        "colocated": st.one_of(st.none(), st.booleans()),
        "reason": st.sampled_from(["unable_to_contact", "no_show", "client_refused", "other"]),
        "channel": st.sampled_from(list(Channel.values)),
        "declines": st.lists(st.one_of(st.none(), st.integers(0, len(DESKS) - 1)), max_size=2),
        "timeout": st.booleans(),
        # A completed job placement's completion event: no placement named, at a clear or a suspect employer.
        "placement": st.sampled_from([None, False, True]),
    }
)
history_strategy = st.fixed_dictionaries(
    {
        "clients": st.lists(
            st.tuples(st.sampled_from(["F", "M", "X", ""]), st.integers(1940, 2008), st.integers(1, 12)),
            min_size=8,
            max_size=8,
        ),
        "walk_ins": st.lists(st.tuples(st.integers(0, 7), st.integers(0, 3), st.integers(0, 85 * 24 * 60)), max_size=6),
        "referrals": st.lists(referral_spec, max_size=14),
    }
)


def build_history(h: dict[str, Any], *, clients: list[Any] | None = None) -> list[Any]:
    """Write the history's rows; with `clients`, its walk-ins and referrals are theirs (a history added on
    top of another one). Returns the clients."""
    centers = {c.code: c for c in Center.objects.filter(code__in=CENTERS).select_related("region")}
    desks = {d.code: d for d in Desk.objects.filter(code__in=DESKS).select_related("center")}
    services = {s.code: s for s in Service.objects.filter(code__in=SERVICES)}
    clients = clients or [
        ClientFactory(center=centers[CENTERS[i % len(CENTERS)]], gender=g, birth_date=date(y, mo, 15))
        for i, (g, y, mo) in enumerate(h["clients"])
    ]
    for client_i, center_i, minute in h["walk_ins"]:
        CaseFactory(
            client=clients[client_i], center=centers[CENTERS[center_i]], opened_at=BASE + timedelta(minutes=minute)
        )
    for r in h["referrals"]:
        created = BASE + timedelta(minutes=r["minute"])
        case = CaseFactory(
            client=clients[r["client"]],
            center=centers[CENTERS[r["center"]]],
            channel=r["channel"],
            opened_at=created - timedelta(minutes=30),
        )
        status = r["status"]
        desk = desks[DESKS[r["desk"]]] if r["desk"] is not None else None
        if desk is None and status not in (Status.REQUESTED, Status.REJECTED, Status.CANCELLED):
            desk = desks[DESKS[0]]
        service = services[SERVICES[r["service"]]]
        accepted_at = None
        if status in (Status.ACCEPTED, Status.IN_PROGRESS, Status.ON_HOLD, Status.COMPLETED, Status.FAILED):
            accepted_at = created + timedelta(minutes=r["accept_min"] or 7)
        elif status == Status.CANCELLED and r["accept_min"] is not None and desk is not None:
            accepted_at = created + timedelta(minutes=r["accept_min"])
        closed = status in (Status.COMPLETED, Status.FAILED, Status.CANCELLED, Status.REJECTED)
        closed_at = (accepted_at or created) + timedelta(minutes=r["close_min"]) if closed else None
        outcomes = OUTCOMES[service.code]
        ref = ReferralFactory(
            case=case,
            service=service,
            status=status,
            created_at=created,
            to_desk=desk,
            to_center=desk.center if desk else None,
            accepted_at=accepted_at,
            closed_at=closed_at,
            accept_due_at=created + timedelta(minutes=r["accept_due_min"]) if r["accept_due_min"] is not None else None,
            close_due_at=created + timedelta(minutes=r["close_due_min"]) if r["close_due_min"] is not None else None,
            outcome=outcomes[r["outcome"] % len(outcomes)] if status == Status.COMPLETED else "",
            achieved=r["achieved"] if status == Status.COMPLETED else None,
            reason=r["reason"] if status in (Status.FAILED, Status.CANCELLED, Status.REJECTED) else "",
            colocated=r["colocated"] if desk is not None else None,
        )
        for d in r["declines"]:
            ReferralEventFactory(referral=ref, kind=EventKind.DECLINE, desk=desks[DESKS[d]] if d is not None else None)
        if r["timeout"]:
            ReferralEventFactory(referral=ref, kind=EventKind.TIMEOUT, desk=desk)
        if status == Status.COMPLETED:
            data: dict[str, Any] = {"outcome": outcomes[r["outcome"] % len(outcomes)], "achieved": r["achieved"]}
            if r.get("placement") is not None and service.code == "job_placement":
                data["placement"] = {"posting": 1, "employer": 1, "employer_suspect": r["placement"]}
            ReferralEventFactory(referral=ref, kind=EventKind.COMPLETE, desk=desk, at=closed_at, data=data)
    return clients
