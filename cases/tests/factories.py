"""Test data for cases, built through the services so every row obeys the rules."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from cases import services
from cases.inputs import case_opening_parse, client_facts_parse
from cases.models import Case, Client


def valid_rrn(birth_date: dt.date, sex_digit: str | None = None, serial: str = "23456") -> str:
    """A well-formed RRN (with its mod-11 check digit) for a birth date; dashed form."""
    if sex_digit is None:
        sex_digit = "1" if birth_date.year < 2000 else "3"
    head = birth_date.strftime("%y%m%d") + sex_digit + serial
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    total = sum(int(d) * w for d, w in zip(head, weights, strict=True))
    check = (11 - total % 11) % 10
    return f"{head[:6]}-{head[6:]}{check}"


class ClientInput(factory.DictFactory):
    name = factory.Iterator(["김민준", "이서연", "박지훈", "최수아", "정우진", "강하은"])
    # The sequence runs on over the whole suite: wrap it so a birth date never reaches the future
    # (1950-01-01 + 97 days × 199 is in 2002).
    birth_date = factory.Sequence(lambda n: dt.date(1950, 1, 1) + dt.timedelta(days=97 * (n % 200)))
    phone = factory.Sequence(lambda n: f"010-{1000 + n % 9000:04d}-{5000 + n % 5000:04d}")


def make_client(user: Any, **overrides: Any) -> Client:
    data: dict[str, Any] = ClientInput.build(**overrides)
    return services.client_register(user=user, facts=client_facts_parse(data))


def make_case(user: Any, client: Client | None = None, **overrides: Any) -> Case:
    client = client or make_client(user)
    kwargs: dict[str, Any] = {"channel": "walk_in", "needs": [{"domain": "employment", "code": "job_search"}]}
    kwargs.update(overrides)
    return services.case_open(user=user, client=client, opening=case_opening_parse(kwargs))
