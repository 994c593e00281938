"""A posting as parsed at the edge (API serializer, Work24/CSV parser), before the services check the rules."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

MAX_TITLE = 300
MAX_CONTENT = 20_000


@dataclass(frozen=True)
class PostingInput:
    """A posting as parsed at the edge (API serializer, Work24/CSV parser); the service checks the rules."""

    title: str
    content: str = ""
    wage_type: str = ""
    wage: int | None = None
    hours_per_week: Decimal | None = None
    region: str = ""
    contact: str = ""
    employer_name: str = ""
    business_number: str = ""
    employer_address: str = ""
    external_id: str = ""
    posted_on: dt.date | None = None
    closes_on: dt.date | None = None
    closes_when_filled: bool = False
    detail_url: str = ""
    raw_payload: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
