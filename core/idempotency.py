"""`Idempotency-Key` on every API POST (API.md "Errors").

A repeat with the same key by the same user within the retention window answers what the first
answered — status and body — and runs nothing; the same key with another body (or path) is 422
`idempotency_mismatch`; a repeat while the first is still running is 409 `idempotency_in_progress`.

The key is claimed before the view runs by inserting its row (unique per user and key), so of two
concurrent requests exactly one runs. A 5xx answer (nothing was saved, or the outcome is unknown) frees
the key so the client may retry with it; any other answer is kept.

Page forms that create something carry the same mechanism as a hidden one-time key (`{% form_key %}`,
core/templatetags/form_keys.py, field FORM_FIELD): a double click, a reload of the answer or the back
button and a second submit send the same key, and the person is taken where the first submit went (a
redirect is replayed with its Location and a message) instead of creating a second client, note, consent,
referral or request. A form rendered again gets a new key: a new intent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.settings import api_settings

from core.models import IdempotencyRecord

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 200
FORM_FIELD = "form_key"
# What a form's hash leaves out: the CSRF token changes with nothing the person chose.
_FORM_IGNORED = frozenset({FORM_FIELD, "csrfmiddlewaretoken"})


def retention() -> dt.timedelta:
    return dt.timedelta(hours=getattr(settings, "IDEMPOTENCY_RETENTION_HOURS", 24))


def _user_id(request: HttpRequest) -> int | None:
    """The API caller, authenticated the way the API's views will (token or session)."""
    classes: list[Any] = list(api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    drf_request = Request(request, authenticators=[cls() for cls in classes])
    try:
        user = drf_request.user
    except APIException:
        return None  # a bad token or a failed CSRF check: the view answers that itself
    return user.pk if user is not None and user.is_authenticated else None


def _request_hash(request: HttpRequest, *, form: bool = False) -> str | None:
    digest = hashlib.sha256()
    digest.update(request.path.encode())
    digest.update(b"\0" + (request.content_type or "").encode() + b"\0")
    if form or request.content_type == "multipart/form-data":
        # Parsed here (Django keeps the result; DRF reads request.POST/FILES when the stream is consumed).
        for name, value in sorted(request.POST.lists()):
            if form and name in _FORM_IGNORED:
                continue
            digest.update(f"{name}={value!r}\0".encode())
        for name, files in sorted(request.FILES.lists()):
            for f in files:
                digest.update(f"{name}:{f.name}:{f.size}\0".encode())
                for chunk in f.chunks():
                    digest.update(chunk)
                f.seek(0)
    else:
        try:
            digest.update(request.body)
        except RequestDataTooBig:
            return None
    return digest.hexdigest()


def _error(status: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type or None)
    if record.location:
        response["Location"] = record.location
    response["Idempotent-Replayed"] = "true"
    return response


def _claim(user_id: int, key: str, request_hash: str, path: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the key's row, or return the row already there (an expired one is replaced)."""
    now = timezone.now()
    for _attempt in range(2):
        try:
            with transaction.atomic():
                return IdempotencyRecord.objects.create(
                    user_id=user_id, key=key, request_hash=request_hash, path=path[:500], created_at=now
                ), True
        except IntegrityError:
            existing = IdempotencyRecord.objects.filter(user_id=user_id, key=key).first()
            if existing is None:
                continue  # freed in between (a 5xx); claim it again
            if existing.created_at > now - retention():
                return existing, False
            IdempotencyRecord.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
    raise RuntimeError("could not claim an idempotency key")  # pragma: no cover - two races in a row


def _back(request: HttpRequest) -> str:
    """The page the form was on (this site's only), else the start page."""
    referer = request.headers.get("Referer", "")
    if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}):
        return referer
    return "/"


class IdempotencyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return self.get_response(request)
        if not request.path.startswith("/api/"):
            return self._page(request)
        key = request.headers.get(HEADER)
        if key is None:
            return self.get_response(request)
        if not key.strip() or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return _error(400, _("Idempotency-Key must be 1 to 200 printable characters."), "invalid")
        user_id = _user_id(request)
        request_hash = _request_hash(request) if user_id is not None else None
        if user_id is None or request_hash is None:
            # Not logged in (the view answers 401) or a body too big to keep: nothing to replay.
            return self.get_response(request)
        record, claimed = _claim(user_id, key, request_hash, request.path)
        if not claimed:
            if record.request_hash != request_hash:
                return _error(422, _("This Idempotency-Key was used with a different request."), "idempotency_mismatch")
            if record.status_code is None:
                return _error(
                    409, _("A request with this Idempotency-Key is still being processed."), "idempotency_in_progress"
                )
            return _replay(record)
        return self._run(request, record)

    def _page(self, request: HttpRequest) -> HttpResponse:
        """A page form with its one-time key: the first submit runs, a repeat goes where the first went."""
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or FORM_FIELD not in request.POST:
            return self.get_response(request)
        key = f"form:{request.POST.get(FORM_FIELD, '')}"
        if len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return self.get_response(request)  # a mangled key: the form still works, without the guard
        request_hash = _request_hash(request, form=True)
        if request_hash is None:
            return self.get_response(request)
        record, claimed = _claim(user.pk, key, request_hash, request.path)
        if claimed:
            return self._run(request, record, keep_refusals=False)
        if record.request_hash != request_hash or record.status_code is None:
            # Changed and sent again, or the first submit is still running: say so, change nothing.
            messages.warning(request, _("This form was already sent. Check the result before sending it again."))
            return HttpResponse(status=303, headers={"Location": record.location or _back(request)})
        if record.location:
            messages.info(request, _("This form was already sent; here is what it did."))
        return _replay(record)

    def _run(self, request: HttpRequest, record: IdempotencyRecord, *, keep_refusals: bool = True) -> HttpResponse:
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            raise
        # A page form refused (400: the errors shown, nothing saved) is not kept: corrected and sent again with
        # the same key (the back button), it runs.
        if response.status_code >= 500 or response.streaming or (not keep_refusals and response.status_code >= 400):
            IdempotencyRecord.objects.filter(pk=record.pk).delete()
            return response
        IdempotencyRecord.objects.filter(pk=record.pk).update(
            status_code=response.status_code,
            content_type=response.get("Content-Type", ""),
            body=response.content,
            location=response.get("Location", "")[:2000],
        )
        return response


def idempotency_purge(*, now: dt.datetime | None = None) -> int:
    """Forget keys older than the retention window (beat, hourly)."""
    cutoff = (now or timezone.now()) - retention()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()
    return deleted
