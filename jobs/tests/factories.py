"""Postings built through the services, so test data obeys the same rules as real data."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from jobs import services
from jobs.models import JobPosting, Source

# Real, valid business registration numbers (check digit holds) of large, well-known companies.
VALID_BIZNO = "2208162517"
OTHER_BIZNO = "1248100998"

ORDINARY_AD = (
    "물류센터 상품 분류 및 포장 업무입니다. 주 5일(월~금) 09:00~18:00 근무, 4대보험 가입, 중식 제공. "
    "초보자도 가능하며 지게차 자격증 소지자 우대합니다."
)
FLAGGED_AD = (
    "고수익 보장! 하루 2시간 재택 부업. 통장 사본과 신분증 사본을 먼저 보내주시면 바로 업무 배정해 드립니다. "
    "교육비 30만원 선입금 후 시작."
)


def posting_input(**overrides: Any) -> services.PostingInput:
    values: dict[str, Any] = {
        "title": "물류센터 상품 분류 사원 모집",
        "content": ORDINARY_AD,
        "wage_type": "monthly",
        "wage": 2_300_000,
        "region": "서울 관악구",
        "contact": "02-880-1234",
        "employer_name": "(주)한빛물류",
        "business_number": VALID_BIZNO,
    }
    values.update(overrides)
    return services.PostingInput(**values)


def make_posting(by: AbstractBaseUser, source: str = Source.MANUAL, **overrides: Any) -> JobPosting:
    if source == Source.MANUAL:
        return services.posting_create(by=by, data=posting_input(**overrides))
    return services.posting_upsert(by=by, data=posting_input(**overrides), source=source).posting


def make_flagged_posting(by: AbstractBaseUser, **overrides: Any) -> JobPosting:
    values: dict[str, Any] = {"title": "재택 부업 고수익 보장", "content": FLAGGED_AD, "wage_type": "", "wage": None}
    values.update(overrides)
    return make_posting(by, **values)
