"""Test data for referrals, built through the cases services like any walk-in: the client registered with a
collection consent, a referral consent recorded with the product's own period (it expires), a case opened.
Every row obeys the rules the product enforces; cases.tests.factories holds the client and case inputs."""

from __future__ import annotations

from typing import Any

from cases import services
from cases.models import ConsentMethod, ConsentPurpose
from cases.tests.factories import make_case, make_client

ALL_KINDS = ["employment_welfare", "microfinance", "local_government", "midlife_career", "credit_recovery"]
CASE_NOTE = "상담 메모: 보내는 센터 내부용"


def case_with_consent(counselor, *, kinds: list[str] | None = None) -> Any:  # noqa: ANN001 - a staff user
    """An open case at the counselor's center whose client consented to referral to `kinds` (default: all;
    an empty list: no referral consent at all)."""
    client = make_client(counselor)
    services.consent_record(
        user=counselor, client=client, purpose=ConsentPurpose.COLLECTION, method=ConsentMethod.PAPER
    )
    if kinds is None or kinds:
        services.consent_record(
            user=counselor,
            client=client,
            purpose=ConsentPurpose.REFERRAL,
            method=ConsentMethod.PAPER,
            organization_kinds=list(ALL_KINDS if kinds is None else kinds),
        )
    return make_case(counselor, client=client, note=CASE_NOTE)
