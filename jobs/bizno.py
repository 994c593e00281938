"""Business registration numbers (사업자등록번호): 10 digits, `XXX-XX-XXXXX`, the last one a check digit."""

from __future__ import annotations

import re

_WEIGHTS = (1, 3, 7, 1, 3, 7, 1, 3, 5)
_SEPARATORS = re.compile(r"[\s\-.]")


def normalise(value: str) -> str:
    """Digits only ("220-81-62517" → "2208162517"); anything else is left for `is_valid` to refuse."""
    return _SEPARATORS.sub("", value or "")


def check_digit(first_nine: str) -> int:
    """Weights 1,3,7,1,3,7,1,3,5 over the first nine digits, plus the tens digit of (ninth × 5)."""
    digits = [int(c) for c in first_nine]
    total = sum(d * w for d, w in zip(digits, _WEIGHTS, strict=True)) + (digits[8] * 5) // 10
    return (10 - total % 10) % 10


def is_valid(value: str) -> bool:
    number = normalise(value)
    if len(number) != 10 or not number.isascii() or not number.isdigit():
        return False
    return check_digit(number[:9]) == int(number[9])


def formatted(number: str) -> str:
    return f"{number[:3]}-{number[3:5]}-{number[5:]}" if len(number) == 10 else number
