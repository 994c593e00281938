"""The one Korean calendar: Asia/Seoul time and public holidays (the `holidays` package's KR calendar).

Due times (referral.sla) count business days with it; a desk's bookable slots (centers.slots) skip its
public holidays. Both read this module, so a holiday closes the desk and stops the SLA clock alike.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

SEOUL = ZoneInfo("Asia/Seoul")


@lru_cache(maxsize=32)
def kr_holidays(year: int) -> holidays.HolidayBase:
    """Korea's public holidays of one year (substitute holidays included)."""
    return holidays.country_holidays("KR", years=year)


def is_public_holiday(day: dt.date) -> bool:
    return day in kr_holidays(day.year)


def holiday_name(day: dt.date) -> str:
    """The holiday's name as the calendar gives it (Korean), or "" on an ordinary day."""
    return str(kr_holidays(day.year).get(day) or "")


def is_business_day(day: dt.date) -> bool:
    """Monday to Friday and not a public holiday."""
    return day.weekday() < 5 and not is_public_holiday(day)
