"""Field rules shared by the services, the page forms and the API: each raises InvalidInput naming the field."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.crypto import RrnError, rrn_normalize
from core.errors import InvalidInput

AREA_CODES = frozenset(
    {"031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055", "061", "062", "063", "064"}
)
MOBILE_PREFIXES = frozenset({"010", "011", "016", "017", "018", "019"})
_PHONE_CHARS = re.compile(r"[\s\-().]")
NAME_MAX = 50
NOTE_MAX = 4000
NEED_NOTE_MAX = 500
OLDEST_BIRTH_YEAR = 1900


def _split(digits: str, head: int) -> str:
    rest = digits[head:]
    mid = len(rest) - 4
    return f"{digits[:head]}-{rest[:mid]}-{rest[mid:]}"


def phone_normalize(value: object, *, field: str = "phone") -> str:
    """Korean mobile or landline number → dashed form (010-1234-5678, 02-123-4567, 031-123-4567)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(_("Enter a phone number."), field=field)
    raw = _PHONE_CHARS.sub("", value.strip())
    if raw.startswith("+82"):
        raw = "0" + raw[3:].lstrip("0")
    if not raw.isdigit() or not raw.isascii():
        raise InvalidInput(_("Enter a Korean phone number such as 010-1234-5678."), field=field)
    if raw[:3] in MOBILE_PREFIXES and (len(raw) == 11 or (len(raw) == 10 and raw[:3] != "010")):
        return _split(raw, 3)
    if raw.startswith("02") and len(raw) in (9, 10):
        return _split(raw, 2)
    if (raw[:3] in AREA_CODES or raw[:3] == "070") and len(raw) in (10, 11):
        return _split(raw, 3)
    raise InvalidInput(_("Enter a Korean phone number such as 010-1234-5678."), field=field)


def birth_date_validate(value: object, *, field: str = "birth_date", today: dt.date | None = None) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise InvalidInput(_("Enter a valid date (YYYY-MM-DD)."), field=field)
    today = today or timezone.localdate()
    if value > today:
        raise InvalidInput(_("The birth date cannot be in the future."), field=field)
    if value.year < OLDEST_BIRTH_YEAR:
        raise InvalidInput(_("The birth date is too far in the past."), field=field)
    return value


def name_validate(value: object, *, field: str = "name") -> str:
    if not isinstance(value, str):
        raise InvalidInput(_("Enter a name."), field=field)
    name = " ".join(value.split())
    if not name:
        raise InvalidInput(_("Enter a name."), field=field)
    if len(name) > NAME_MAX:
        raise InvalidInput(_("The name is too long (at most %(n)d characters).") % {"n": NAME_MAX}, field=field)
    if any(ch.isdigit() for ch in name) or any(not ch.isprintable() for ch in name):
        raise InvalidInput(_("A name cannot contain digits or control characters."), field=field)
    if any(not (ch.isalpha() or ch in _NAME_PUNCTUATION) for ch in name):
        raise InvalidInput(_("A name may contain letters, spaces, hyphens, apostrophes and dots only."), field=field)
    if not _one_script(name):
        raise InvalidInput(_("Write the name in one script (Hangul, Latin or Chinese characters)."), field=field)
    return name


_NAME_PUNCTUATION = frozenset(" -'.·")
# Scripts a name may combine: Hangul with Hanja is common, Latin stands alone; anything else mixed is a
# look-alike (Cyrillic "А" in a Hangul name) that would defeat duplicate checks and search.
_SCRIPT_SETS = ({"HANGUL"}, {"LATIN"}, {"CJK"}, {"HANGUL", "CJK"})


def _one_script(name: str) -> bool:
    scripts = {unicodedata.name(ch, "UNKNOWN").split()[0] for ch in name if ch.isalpha()}
    return any(scripts <= allowed for allowed in _SCRIPT_SETS)


# C0/C1 control characters other than tab and newlines, and the bidirectional overrides that can make
# stored text read differently from what it is ("Trojan source").
_FORBIDDEN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def text_validate(value: object, *, field: str, max_length: int = NOTE_MAX, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(_("Enter text."), field=field)
    text = value.strip().replace("\x00", "")
    if _FORBIDDEN_TEXT.search(text):
        raise InvalidInput(_("The text contains control characters; remove them."), field=field)
    if required and not text:
        raise InvalidInput(_("This field is required."), field=field)
    if len(text) > max_length:
        raise InvalidInput(_("The text is too long (at most %(n)d characters).") % {"n": max_length}, field=field)
    return text


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Age in full years (만 나이) on `day`."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def rrn_birth_date(digits: str) -> dt.date | None:
    """The birth date an RRN's digits state (the 7th digit gives the century), None if no such day."""
    century = {"1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000}.get(
        digits[6], 1800
    )
    try:
        return dt.date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None


def rrn_gender(digits: str) -> str:
    """ "M" or "F" (Gender's values), from the RRN's 7th digit."""
    return "M" if digits[6] in "13579" else "F"


def rrn_validate(rrn: object, birth_date: dt.date, *, field: str = "rrn") -> tuple[str, str]:
    """(13 digits, gender "M"/"F") of a well-formed RRN that agrees with the birth date; never echoes it."""
    if not isinstance(rrn, str):
        raise InvalidInput(_("Enter the resident registration number as 000000-0000000."), field=field)
    try:
        digits = rrn_normalize(rrn)
    except RrnError as exc:
        raise InvalidInput(str(exc), field=field) from None
    if rrn_birth_date(digits) != birth_date:
        raise InvalidInput(_("The resident registration number does not match the birth date."), field=field)
    return digits, rrn_gender(digits)
