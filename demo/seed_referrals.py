"""Demo referrals in various states for `make run` (idempotent: a second run adds nothing)."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from cases.models import Case, Channel, Client, Consent, ConsentMethod, ConsentPurpose, Need
from centers.models import Center
from referral import services
from referral.models import Referral

DEMO_MARK = "[데모]"
KINDS = ["employment_welfare", "microfinance", "local_government", "midlife_career", "credit_recovery"]
# (client name, phone, service, the state to walk it to)
PLAN = [
    ("박서민", "010-2000-0001", "policy_microloan", "requested"),
    ("이채무", "010-2000-0002", "debt_adjustment", "requested"),
    ("최상담", "010-2000-0003", "debt_adjustment", "accepted"),
    ("정진행", "010-2000-0004", "rehab_bankruptcy", "in_progress"),
    ("한완료", "010-2000-0005", "debt_adjustment", "completed"),
]


def _demo_case(counselor, center: Center, name: str, phone: str, service_domain: str) -> Case:
    client, _ = Client.objects.get_or_create(
        center=center,
        name=name,
        phone=phone,
        defaults={"birth_date": dt.date(1980, 5, 1), "created_by": counselor},
    )
    if not Consent.objects.filter(client=client, purpose=ConsentPurpose.REFERRAL, withdrawn_at__isnull=True).exists():
        Consent.objects.create(
            client=client,
            purpose=ConsentPurpose.REFERRAL,
            organization_kinds=KINDS,
            method=ConsentMethod.PAPER,
            given_at=timezone.now(),
            recorded_by=counselor,
        )
    case = Case.objects.filter(client=client, center=center, status="open").first()
    if case is None:
        case = Case.objects.create(
            client=client, center=center, counselor=counselor, channel=Channel.WALK_IN, opened_at=timezone.now()
        )
        Need.objects.get_or_create(case=case, code=f"{service_domain}_support", defaults={"domain": service_domain})
    return case


def seed() -> None:
    User = get_user_model()
    sender = User.objects.filter(username="counselor").first()
    receiver = User.objects.filter(username="mf_counselor").first()
    if sender is None or receiver is None or Referral.objects.filter(note__startswith=DEMO_MARK).exists():
        return
    center = sender.staff.center  # type: ignore[attr-defined]
    if center is None:
        return
    from centers.models import Service

    for name, phone, code, state in PLAN:
        with transaction.atomic():
            domain = Service.objects.get(code=code).domain
            case = _demo_case(sender, center, name, phone, domain)
            r = services.referral_create(
                by=sender, case_id=case.pk, service_code=code, note=f"{DEMO_MARK} {name}님 {code} 연계 요청"
            )
        # Route now whatever the broker: the demo should show desks straight away (idempotent with the task).
        services.referral_route(referral_id=r.pk)
        r.refresh_from_db()
        actor = receiver if r.to_center_id == receiver.staff.center_id else None  # type: ignore[attr-defined]
        if actor is None or state == "requested":
            continue
        services.referral_accept(referral_id=r.pk, by=actor)
        if state in ("in_progress", "completed"):
            services.referral_start(referral_id=r.pk, by=actor)
        if state == "completed":
            services.referral_complete(
                referral_id=r.pk, by=actor, outcome="fast_track_agreed", achieved=True, detail={"note": "신속채무조정"}
            )
