"""Client and case input, parsed once at the edge into typed values the services trust.

The page form (cases.forms), the API serializers (cases.api) and the loaders (demo seed, test
factories, benchmarks) all turn raw values into a `ClientFacts`, `ClientSituation` or `CaseOpening`
here, with the same parsers and the same messages. The services then check only the rules that
need the database and the caller: duplicate client, center scope, an open case.

Every parser raises `InvalidInput` naming its field; no message ever echoes an RRN.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from cases.crypto import RrnError, rrn_normalize
from cases.models import Channel, DebtStatus, EmploymentStatus, Gender, IncomeBand
from cases.needs import NEEDS_BY_CODE
from cases.validation import (
    NEED_NOTE_MAX,
    NOTE_MAX,
    birth_date_validate,
    name_validate,
    phone_normalize,
    rrn_birth_date,
    rrn_gender,
    text_validate,
)
from centers.models import Domain, Region
from core.errors import InvalidInput

HOUSEHOLD_MIN, HOUSEHOLD_MAX = 1, 20
ARREARS_MAX = 36500
MAX_NEEDS = 20

# --- the typed values ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ClientSituation:
    """The routing facts of a client: what an intake may update on a client already registered."""

    gender: str = ""
    region: Region | None = None
    household_size: int | None = None
    income_band: str = IncomeBand.UNKNOWN
    employment_status: str = EmploymentStatus.UNKNOWN
    debt_status: str = DebtStatus.UNKNOWN
    arrears_days: int | None = None

    def situation_fields(self) -> dict[str, Any]:
        """The routing facts as model field values."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(ClientSituation)}


@dataclass(frozen=True, kw_only=True)
class ClientFacts(ClientSituation):
    """A whole client record: identity and routing facts. `rrn` is 13 digits (or empty), matching `birth_date`."""

    name: str
    birth_date: dt.date
    phone: str
    rrn: str = ""

    def __repr__(self) -> str:
        # Never the RRN, not even in a traceback or a log line.
        return f"ClientFacts(name={self.name!r}, birth_date={self.birth_date!r}, rrn={'***' if self.rrn else ''!r})"


@dataclass(frozen=True, kw_only=True)
class NeedItem:
    domain: str
    code: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class CaseOpening:
    """What a counselor records when a case opens: how the client came, what they need, a first note."""

    channel: str
    needs: tuple[NeedItem, ...] = ()
    note: str = ""


# --- field parsers ---------------------------------------------------------------------------------


def _is_blank(value: object) -> bool:
    return value is None or value == ""


def choice_parse(value: object, choices: Iterable[str], *, field: str, default: str | None = None) -> str:
    """A value from `choices`; a blank value is `default` when one is given, else an error."""
    if _is_blank(value) and default is not None:
        return default
    if not isinstance(value, str) or value not in set(choices):
        raise InvalidInput(_("Select a valid choice."), field=field)
    return value


def _optional_int(value: object, low: int, high: int, *, field: str, message: str) -> int | None:
    """None for a blank value, the int when it is a whole number in [low, high], else a field error."""
    if _is_blank(value):
        return None
    if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
        return value
    raise InvalidInput(message, field=field)


def rrn_parse(value: object) -> str:
    """13 digits, or "" when no RRN was given; checks the format, the date digits and the check digit."""
    if _is_blank(value):
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("Enter the resident registration number as 000000-0000000."), field="rrn")
    try:
        return rrn_normalize(value)
    except RrnError as exc:
        raise InvalidInput(str(exc), field="rrn") from None


def region_parse(value: object) -> Region | None:
    if _is_blank(value):
        return None
    if isinstance(value, Region):
        return value
    found = Region.objects.filter(code=str(value)).first() if isinstance(value, str | int) else None
    if found is None:
        raise InvalidInput(_("Select a valid region."), field="region")
    return found


def household_size_parse(value: object) -> int | None:
    return _optional_int(
        value,
        HOUSEHOLD_MIN,
        HOUSEHOLD_MAX,
        field="household_size",
        message=_("Enter a household size between 1 and 20."),
    )


def arrears_days_parse(value: object) -> int | None:
    return _optional_int(
        value, 0, ARREARS_MAX, field="arrears_days", message=_("Enter the days in arrears as a whole number from 0.")
    )


# One parser per client field, each raising InvalidInput(field=<its name>).
SITUATION_PARSERS: dict[str, Callable[[object], Any]] = {
    "gender": lambda v: choice_parse(v, Gender.values, field="gender", default=""),
    "region": region_parse,
    "household_size": household_size_parse,
    "income_band": lambda v: choice_parse(v, IncomeBand.values, field="income_band", default=IncomeBand.UNKNOWN),
    "employment_status": lambda v: choice_parse(
        v, EmploymentStatus.values, field="employment_status", default=EmploymentStatus.UNKNOWN
    ),
    "debt_status": lambda v: choice_parse(v, DebtStatus.values, field="debt_status", default=DebtStatus.UNKNOWN),
    "arrears_days": arrears_days_parse,
}
IDENTITY_PARSERS: dict[str, Callable[[object], Any]] = {
    "name": name_validate,
    "birth_date": birth_date_validate,
    "phone": phone_normalize,
    "rrn": rrn_parse,
}
SITUATION_FIELDS = tuple(SITUATION_PARSERS)
CLIENT_FIELDS = (*IDENTITY_PARSERS, *SITUATION_FIELDS)
_PARSERS = {**IDENTITY_PARSERS, **SITUATION_PARSERS}


def client_fields_parse(data: Mapping[str, object], fields: Iterable[str]) -> tuple[dict[str, Any], list[InvalidInput]]:
    """Each field through its parser (an absent field parses as blank): (values, one error per bad field)."""
    values: dict[str, Any] = {}
    errors: list[InvalidInput] = []
    for field in fields:
        try:
            values[field] = _PARSERS[field](data.get(field))
        except InvalidInput as exc:
            errors.append(exc)
    return values, errors


def _situation_values(values: Mapping[str, Any]) -> dict[str, Any]:
    out = {f: values[f] for f in SITUATION_FIELDS if f in values}
    # Days in arrears say the debt is in arrears when the counselor did not say otherwise.
    if out.get("arrears_days") and out.get("debt_status", DebtStatus.UNKNOWN) == DebtStatus.UNKNOWN:
        out["debt_status"] = DebtStatus.ARREARS
    return out


def client_situation_build(values: Mapping[str, Any]) -> ClientSituation:
    """A ClientSituation from values already through `client_fields_parse`."""
    return ClientSituation(**_situation_values(values))


def client_facts_build(values: Mapping[str, Any]) -> ClientFacts:
    """A ClientFacts from values already through `client_fields_parse`; checks the RRN against the birth date."""
    situation = _situation_values(values)
    rrn: str = values.get("rrn", "")
    birth_date: dt.date = values["birth_date"]
    if rrn:
        if rrn_birth_date(rrn) != birth_date:
            raise InvalidInput(_("The resident registration number does not match the birth date."), field="rrn")
        if not situation.get("gender"):
            situation["gender"] = rrn_gender(rrn)
    return ClientFacts(name=values["name"], birth_date=birth_date, phone=values["phone"], rrn=rrn, **situation)


def client_facts_parse(data: Mapping[str, object]) -> ClientFacts:
    """A whole client record from raw values (a loader's dict); the first bad field raises InvalidInput."""
    values, errors = client_fields_parse(data, CLIENT_FIELDS)
    if errors:
        raise errors[0]
    return client_facts_build(values)


def client_situation_parse(data: Mapping[str, object]) -> ClientSituation:
    values, errors = client_fields_parse(data, SITUATION_FIELDS)
    if errors:
        raise errors[0]
    return client_situation_build(values)


# --- case opening ----------------------------------------------------------------------------------


def channel_parse(value: object) -> str:
    return choice_parse(value, Channel.values, field="channel")


def case_note_parse(value: object, *, field: str = "note") -> str:
    return text_validate(value, field=field, max_length=NOTE_MAX)


def needs_parse(needs: object) -> tuple[NeedItem, ...]:
    """A list of {"code", "domain"?, "note"?}; the domain, when given, must be the need's own."""
    if needs is None:
        return ()
    if isinstance(needs, str | bytes | dict) or not isinstance(needs, Sequence):
        raise InvalidInput(_("Send the needs as a list."), field="needs")
    if len(needs) > MAX_NEEDS:
        raise InvalidInput(_("Too many needs (at most %(n)d).") % {"n": MAX_NEEDS}, field="needs")
    out: list[NeedItem] = []
    seen: set[str] = set()
    for item in needs:
        if not isinstance(item, Mapping):
            raise InvalidInput(_("Each need needs a domain and a code."), field="needs")
        code = item.get("code")
        need = NEEDS_BY_CODE.get(code) if isinstance(code, str) else None
        if need is None:
            raise InvalidInput(_("Unknown need code: %(code)s.") % {"code": str(code)[:40]}, field="needs")
        domain = item.get("domain") or need.domain
        if domain not in Domain.values or domain != need.domain:
            raise InvalidInput(_("The need %(code)s belongs to another domain.") % {"code": need.code}, field="needs")
        if need.code in seen:
            raise InvalidInput(_("The need %(code)s is listed twice.") % {"code": need.code}, field="needs")
        seen.add(need.code)
        note = text_validate(item.get("note"), field="needs", max_length=NEED_NOTE_MAX)
        out.append(NeedItem(domain=need.domain, code=need.code, note=note))
    return tuple(out)


CASE_PARSERS: dict[str, Callable[[object], Any]] = {
    "channel": channel_parse,
    "needs": needs_parse,
    "note": case_note_parse,
}


def case_opening_fields_parse(data: Mapping[str, object]) -> tuple[dict[str, Any], list[InvalidInput]]:
    values: dict[str, Any] = {}
    errors: list[InvalidInput] = []
    for field, parse in CASE_PARSERS.items():
        try:
            values[field] = parse(data.get(field))
        except InvalidInput as exc:
            errors.append(exc)
    return values, errors


def case_opening_parse(data: Mapping[str, object]) -> CaseOpening:
    """A CaseOpening from raw values; the first bad field raises InvalidInput."""
    values, errors = case_opening_fields_parse(data)
    if errors:
        raise errors[0]
    return CaseOpening(**values)
