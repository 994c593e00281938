"""Demo clients, consents and cases at EW-SEOUL-GWANAK, created through the services."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from cases import services
from cases.inputs import case_opening_parse, client_facts_parse
from cases.models import Case, Client, ConsentMethod, ConsentPurpose
from centers.models import CenterKind, Role
from core.errors import DuplicateClient

CENTER = "EW-SEOUL-GWANAK"

DEMO_CLIENTS: list[dict[str, Any]] = [
    {
        "client": {
            "name": "김민준",
            "birth_date": dt.date(1988, 3, 14),
            "phone": "010-2345-6789",
            "income_band": "none",
            "employment_status": "unemployed",
            "debt_status": "arrears",
            "arrears_days": 45,
            "household_size": 2,
        },
        "needs": [{"domain": "employment", "code": "job_search"}, {"domain": "finance", "code": "debt_adjustment"}],
        "note": "실직 후 카드대금 연체 45일. 재취업과 채무조정 상담 희망.",
    },
    {
        "client": {
            "name": "이서연",
            "birth_date": dt.date(1995, 11, 2),
            "phone": "010-8765-4321",
            "income_band": "below_60",
            "employment_status": "irregular",
            "debt_status": "none",
            "household_size": 1,
        },
        "needs": [{"domain": "employment", "code": "job_training"}],
        "note": "단기 아르바이트 중. 직업훈련 문의.",
    },
    {
        "client": {
            "name": "박영수",
            "birth_date": dt.date(1961, 6, 30),
            "phone": "02-871-2345",
            "income_band": "below_50",
            "employment_status": "not_in_labor_force",
            "debt_status": "arrears",
            "arrears_days": 120,
            "household_size": 3,
        },
        "needs": [{"domain": "welfare", "code": "livelihood"}, {"domain": "finance", "code": "credit_counseling"}],
        "note": "생계비 부족, 장기 연체.",
    },
]


def _demo_user():
    User = get_user_model()
    user = User.objects.filter(username="counselor", staff__center__code=CENTER).first()
    return user or User.objects.filter(staff__center__code=CENTER, staff__role=Role.COUNSELOR).order_by("pk").first()


@transaction.atomic
def seed() -> None:
    """Idempotent: a client already registered is reused, and gets a case only if it has none."""
    user = _demo_user()
    if user is None:
        return
    for item in DEMO_CLIENTS:
        try:
            client = services.client_register(user=user, facts=client_facts_parse(item["client"]))
            services.consent_record(user=user, client=client, purpose=ConsentPurpose.COLLECTION, method="paper")
            services.consent_record(
                user=user,
                client=client,
                purpose=ConsentPurpose.REFERRAL,
                method=ConsentMethod.PAPER,
                organization_kinds=[
                    CenterKind.EMPLOYMENT_WELFARE,
                    CenterKind.MICROFINANCE,
                    CenterKind.LOCAL_GOVERNMENT,
                    CenterKind.CREDIT_RECOVERY,
                ],
            )
        except DuplicateClient as dup:
            client = Client.objects.get(pk=dup.existing_id)
        if not Case.objects.filter(client=client).exists():
            opening = case_opening_parse({"channel": "walk_in", "needs": item["needs"], "note": item["note"]})
            services.case_open(user=user, client=client, opening=opening)
