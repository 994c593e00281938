"""Labels of the referral app's codes for templates: `{% load referral_labels %}{{ code|reason_label }}`."""

import datetime as dt

from django import template
from django.utils import timezone, translation
from django.utils.formats import date_format

from referral.lifecycle import reason_label as _reason_label
from referral.slip import korean_datetime

register = template.Library()


@register.filter
def reason_label(code: str) -> str:
    return _reason_label(code)


def _korean() -> bool:
    return (translation.get_language() or "").startswith("ko")


@register.filter
def appointment_time(at: dt.datetime | str | None) -> str:
    """An appointment as a counselor says it: `2026년 12월 3일 (목) 오전 10:00` (Korean UI), Seoul time.
    Takes an event's ISO 8601 string too."""
    if isinstance(at, str):
        try:
            at = dt.datetime.fromisoformat(at)
        except ValueError:
            return ""
    if at is None or at.tzinfo is None:
        return ""
    if _korean():
        return korean_datetime(at)
    return date_format(timezone.localtime(at), "D j M Y, H:i")


@register.filter
def slot_day(at: dt.datetime) -> str:
    """A slot picker's day heading: `12월 3일 (목)`."""
    local = timezone.localtime(at)
    if _korean():
        return f"{local.month}월 {local.day}일 ({'월화수목금토일'[local.weekday()]})"
    return date_format(local, "D j M")


@register.filter
def slot_time(at: dt.datetime) -> str:
    """A slot's start on its button: `오전 10:00`."""
    return korean_datetime(at).rsplit(") ", 1)[1] if _korean() else date_format(timezone.localtime(at), "H:i")


@register.filter
def long_day(day: dt.date) -> str:
    """A day heading: `2026년 12월 21일 (월)`."""
    if _korean():
        return f"{day.year}년 {day.month}월 {day.day}일 ({'월화수목금토일'[day.weekday()]})"
    return date_format(day, "D j M Y")
