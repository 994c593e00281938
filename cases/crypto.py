"""Resident registration numbers: validation, authenticated encryption and the blind index.

Ciphertext layout: 1 byte key id | 12 byte nonce | AES-256-GCM ciphertext+tag. The key id is the
position of the key in PII_ENCRYPTION_KEYS counted from the end, so prepending a new key for
rotation keeps old ids valid; `rrn_reencrypt` moves a row to the current key.
"""

from __future__ import annotations

import base64
import hmac
import os
import re
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RRN_RE = re.compile(r"^(\d{6})-?(\d{7})$")
_AAD = b"yeongye:rrn:v1"


class RrnError(ValueError):
    """The RRN is malformed; the message never contains the number."""


@lru_cache(maxsize=8)
def _keys(raw: tuple[str, ...]) -> list[bytes]:
    keys = []
    for item in raw:
        try:
            key = base64.urlsafe_b64decode(item)
        except ValueError:
            raise ImproperlyConfigured("PII_ENCRYPTION_KEYS holds a value that is not base64.") from None
        if len(key) != 32:
            raise ImproperlyConfigured("Each PII_ENCRYPTION_KEYS key must be 32 bytes (urlsafe base64).")
        keys.append(key)
    if not keys:
        raise ImproperlyConfigured("PII_ENCRYPTION_KEYS is empty.")
    return keys


def _key_list() -> list[bytes]:
    return _keys(tuple(settings.PII_ENCRYPTION_KEYS))


def rrn_normalize(value: str) -> str:
    """Validate format, birth date digits and check digit; return 13 digits. Raises RrnError."""
    m = RRN_RE.match((value or "").strip())
    if not m:
        raise RrnError("주민등록번호는 000000-0000000 형식이어야 합니다.")
    digits = m.group(1) + m.group(2)
    month, day = int(digits[2:4]), int(digits[4:6])
    if not (1 <= month <= 12 and 1 <= day <= 31):
        raise RrnError("주민등록번호 앞자리의 생년월일이 올바르지 않습니다.")
    if digits[6] not in "123456789":
        raise RrnError("주민등록번호 뒷자리 첫 숫자가 올바르지 않습니다.")
    # The classic mod-11 check digit, as the issue asks. Numbers issued since October 2020 no
    # longer carry one; if such clients appear, relax this rule for them (see docs/security.md).
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    total = sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True))
    check = (11 - total % 11) % 10
    if check != int(digits[12]):
        raise RrnError("주민등록번호의 검증 숫자가 맞지 않습니다.")
    return digits


def rrn_birth_prefix(digits: str) -> str:
    return f"{digits[:6]}-{digits[6]}"


@lru_cache(maxsize=8)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def rrn_encrypt(digits: str) -> bytes:
    keys = _key_list()
    key_id = len(keys) - 1
    nonce = os.urandom(12)
    return bytes([key_id]) + nonce + _aead(keys[0]).encrypt(nonce, digits.encode(), _AAD)


def rrn_decrypt(blob: bytes) -> str:
    keys = _key_list()
    blob = bytes(blob)
    index = len(keys) - 1 - blob[0]
    if not 0 <= index < len(keys):
        raise ImproperlyConfigured("The key that sealed this RRN is no longer configured.")
    try:
        return _aead(keys[index]).decrypt(blob[1:13], blob[13:], _AAD).decode()
    except InvalidTag:
        raise ImproperlyConfigured("An RRN failed authentication: wrong key or tampered data.") from None


def rrn_needs_reencrypt(blob: bytes) -> bool:
    return bytes(blob)[0] != len(_key_list()) - 1


def rrn_blind_index(digits: str) -> str:
    return hmac.digest(settings.PII_HASH_KEY.encode(), digits.encode(), "sha256").hex()
