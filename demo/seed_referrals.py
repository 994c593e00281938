"""Demo referrals in various states for `make run` (idempotent: a second run adds nothing).

Everything goes through the services: the client is registered, consents and the case with its
need are recorded as at an intake, and each referral is created, routed and walked through the
lifecycle by its receiving desk.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from cases import services as case_services
from cases.inputs import CaseOpening, ClientFacts, NeedItem
from cases.models import Case, CaseStatus, Channel, Client, Consent, ConsentMethod, ConsentPurpose
from cases.needs import NEEDS
from centers.models import CenterKind, Service
from core.errors import DuplicateClient
from referral import services
from referral.models import Referral, Status

DEMO_MARK = "[데모]"
KINDS = [
    CenterKind.EMPLOYMENT_WELFARE,
    CenterKind.MICROFINANCE,
    CenterKind.LOCAL_GOVERNMENT,
    CenterKind.MIDLIFE_CAREER,
    CenterKind.CREDIT_RECOVERY,
]
# (client name, phone, service, the state to walk it to)
PLAN = [
    ("박서민", "010-2000-0001", "policy_microloan", Status.REQUESTED),
    ("이채무", "010-2000-0002", "debt_adjustment", Status.REQUESTED),
    ("최상담", "010-2000-0003", "debt_adjustment", Status.ACCEPTED),
    ("정진행", "010-2000-0004", "rehab_bankruptcy", Status.IN_PROGRESS),
    ("한완료", "010-2000-0005", "debt_adjustment", Status.COMPLETED),
]


def _need_for(service_code: str) -> tuple[NeedItem, ...]:
    """The intake need that leads to the service (cases/needs.py)."""
    need = next(n for n in NEEDS if n.service == service_code)
    return (NeedItem(domain=need.domain, code=need.code),)


def _demo_case(counselor: Any, name: str, phone: str, service_code: str) -> Case:
    """The client's open case at the counselor's center, registered and consented through the services."""
    try:
        client = case_services.client_register(
            user=counselor, facts=ClientFacts(name=name, birth_date=dt.date(1980, 5, 1), phone=phone)
        )
    except DuplicateClient as dup:
        client = Client.objects.get(pk=dup.existing_id)
    if not Consent.objects.filter(client=client, purpose=ConsentPurpose.REFERRAL).valid_at(timezone.now()).exists():
        case_services.consent_record(
            user=counselor,
            client=client,
            purpose=ConsentPurpose.REFERRAL,
            method=ConsentMethod.PAPER,
            organization_kinds=KINDS,
        )
    case = Case.objects.filter(client=client, status=CaseStatus.OPEN).order_by("pk").first()
    if case is None:
        case = case_services.case_open(
            user=counselor, client=client, opening=CaseOpening(channel=Channel.WALK_IN, needs=_need_for(service_code))
        )
    return case


def seed() -> None:
    User = get_user_model()
    sender = User.objects.filter(username="counselor").first()
    receiver = User.objects.filter(username="mf_counselor").first()
    if sender is None or receiver is None or Referral.objects.filter(note__startswith=DEMO_MARK).exists():
        return
    receiving_center = receiver.staff.center_id  # type: ignore[attr-defined]
    for name, phone, code, state in PLAN:
        if not Service.objects.filter(code=code).exists():
            continue
        case = _demo_case(sender, name, phone, code)
        r = services.referral_create(
            by=sender,
            case_id=case.pk,
            service_code=code,
            note=f"{DEMO_MARK} {name}님 {Service.objects.get(code=code).name} 연계 요청",
        )
        # Route now whatever the broker: the demo should show desks straight away (idempotent with the task).
        services.referral_route(referral_id=r.pk)
        r.refresh_from_db()
        if r.to_center_id != receiving_center or state == Status.REQUESTED:
            continue
        services.referral_accept(referral_id=r.pk, by=receiver)
        if state in (Status.IN_PROGRESS, Status.COMPLETED):
            services.referral_start(referral_id=r.pk, by=receiver)
        if state == Status.COMPLETED:
            services.referral_complete(
                referral_id=r.pk,
                by=receiver,
                outcome="fast_track_agreed",
                achieved=True,
                detail={"note": "신속채무조정"},
            )
