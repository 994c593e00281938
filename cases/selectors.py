"""Reads of clients and cases, always scoped to the caller's center. Ministry and admin get no personal data."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Func, IntegerField, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Length, Replace
from django.http import Http404
from django.utils.translation import gettext as _

from cases.models import Case, CaseNote, Client, Consent, ImportBatch, ImportRow, ProcessingStop
from centers.selectors import Actor, actor_for
from core.errors import PermissionDenied
from core.orm import parse_pk

User = AbstractBaseUser | AnonymousUser

SEARCH_LIMIT = 20
# Typo-tolerant name matching without PostgreSQL (SQLite demo) scans at most this many names.
FUZZY_SCAN_LIMIT = 5000
_DATE_RE = re.compile(r"^(\d{4})[-./]?(\d{1,2})[-./]?(\d{1,2})$")


def _get_or_404(qs: QuerySet[Any], **lookup: object) -> Any:
    """get_object_or_404 that also answers 404 (not 500) to a malformed id such as "abc"."""
    pk = parse_pk(lookup["pk"])
    if pk is None:
        raise Http404
    try:
        return qs.get(**{**lookup, "pk": pk})
    except (qs.model.DoesNotExist, ValueError, TypeError, ValidationError):
        raise Http404 from None


def pii_actor(user: User) -> Actor:
    """The caller's scope for personal data; 403 for everyone but center staff (ministry, admin included)."""
    actor = actor_for(user)
    if not actor.is_center_staff:
        raise PermissionDenied(_("Your role has no access to personal data."))
    return actor


def client_list_for(user: User) -> QuerySet[Client]:
    actor = pii_actor(user)
    return Client.objects.filter(center_id=actor.center_id or 0).select_related("region")


def client_get_for_user(user: User, pk: object) -> Client:
    return _get_or_404(client_list_for(user), pk=pk)


def client_detail_for_user(user: User, pk: object) -> Client:
    """The client with consents, cases and the notes timeline prefetched (client page)."""
    qs = client_list_for(user).prefetch_related(
        Prefetch("consents", queryset=Consent.objects.order_by("-given_at")),
        Prefetch(
            "cases",
            queryset=Case.objects.select_related("counselor").prefetch_related("needs").order_by("-opened_at"),
        ),
    )
    return _get_or_404(qs, pk=pk)


def client_notes_timeline(client: Client) -> QuerySet[CaseNote]:
    return CaseNote.objects.filter(case__client=client).select_related("author", "case").order_by("-created_at")


def case_list_for(user: User, *, status: str | None = None, mine: bool = False) -> QuerySet[Case]:
    actor = pii_actor(user)
    qs = Case.objects.filter(center_id=actor.center_id or 0).select_related("client", "counselor")
    if status:
        qs = qs.filter(status=status)
    if mine:
        qs = qs.filter(counselor_id=actor.user_id)
    return qs.prefetch_related("needs").order_by("-opened_at", "-pk")


def case_row_for_user(user: User, pk: object) -> Case:
    """The case row alone, scoped to the caller's center (404 otherwise): for a part of the case page that
    needs nothing else of it (the referrals table htmx re-reads every few seconds)."""
    actor = pii_actor(user)
    return _get_or_404(Case.objects.filter(center_id=actor.center_id or 0).only("pk", "center_id", "status"), pk=pk)


def case_get_for_user(user: User, pk: object) -> Case:
    qs = (
        case_list_for(user)
        .select_related("client__region", "closed_by")
        .prefetch_related(
            Prefetch("notes", queryset=CaseNote.objects.select_related("author").order_by("created_at")),
            Prefetch("client__consents", queryset=Consent.objects.order_by("-given_at")),
        )
    )
    return _get_or_404(qs, pk=pk)


def consent_get_for_user(user: User, pk: object) -> Consent:
    actor = pii_actor(user)
    return _get_or_404(Consent.objects.select_related("client"), pk=pk, client__center_id=actor.center_id or 0)


# --- Search -------------------------------------------------------------------------------------


def _parse_date(q: str) -> dt.date | None:
    m = _DATE_RE.match(q)
    if not m:
        return None
    try:
        return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


_CHO = 0x1100
_JUNG = 0x1161
_JONG = 0x11A7


def hangul_jamo(text: str) -> str:
    """Decompose Hangul syllables into their letters, so 김민준 and 김민전 differ by one letter, not one syllable."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(chr(_CHO + code // 588))
            out.append(chr(_JUNG + (code % 588) // 28))
            if code % 28:
                out.append(chr(_JONG + code % 28))
        else:
            out.append(unicodedata.normalize("NFC", ch))
    return "".join(out)


def _edit_distance(a: str, b: str, cap: int) -> int:
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _is_hangul_name(q: str) -> bool:
    return 2 <= len(q) <= 10 and all(0xAC00 <= ord(ch) <= 0xD7A3 for ch in q)


class JamoDistance(Func):
    """Edit distance of two names counted in Hangul letters (jamo), capped above 2 (PostgreSQL, fuzzystrmatch)."""

    template = "levenshtein_less_equal(normalize(%(expressions)s, NFD), 2)"
    arg_joiner = ", NFD), normalize("
    output_field = IntegerField()


def client_search(user: User, q: str, *, limit: int = SEARCH_LIMIT) -> list[Client]:
    """Clients of the caller's center matching a name, phone or birth date; close Korean names too.

    Name-prefix, phone and birth-date matches come first (all index lookups); when they leave room, names within two jamo edits
    (a mistyped vowel or final consonant) follow, closest first.
    """
    actor = pii_actor(user)
    # A client who asked to stop the processing (Act §37) is found by no search (the privacy officer's
    # request queue still lists them).
    searchable = Client.objects.filter(center_id=actor.center_id or 0).exclude(
        processing_stopped=ProcessingStop.SUSPENDED
    )
    base = searchable.select_related("region")
    q = " ".join((q or "").split())[:50]
    if not q:
        return []
    # Every branch is served by an index on (center, ...): name prefix (text_pattern_ops on
    # PostgreSQL), birth date, the last four digits of the phone, the whole number.
    cond = Q(name__startswith=q)
    digits = re.sub(r"[\s\-().]", "", q)
    date = _parse_date(q)
    if date is not None:
        cond |= Q(birth_date=date)
    if digits.isdigit() and len(digits) >= 4:
        # "5678" (how counselors ask) or the whole number typed with or without dashes.
        by_phone = Q(phone_last4=digits[-4:])
        if len(digits) > 4:
            base = base.annotate(phone_digits=Replace("phone", Value("-"), Value("")))
            by_phone &= Q(phone_digits__endswith=digits)
        cond |= by_phone
    found = list(base.filter(cond).order_by("name", "pk")[:limit])
    if len(found) < limit and _is_hangul_name(q):
        seen = [c.pk for c in found]
        if connection.vendor == "postgresql":
            # In the database: fuzzystrmatch's bounded Levenshtein over the NFD form (NFD splits a
            # Hangul syllable into exactly the jamo hangul_jamo() gives), ~2 ms for a center's
            # 6,000 names where the Python loop below took ~240 ms.
            # Ids first: an index-only scan of (center, name, id); then the rows for those few.
            extra_ids = list(
                searchable.exclude(pk__in=seen)
                .annotate(distance=JamoDistance("name", Value(q)))
                .filter(distance__lte=2)
                .order_by("distance", "name", "pk")
                .values_list("pk", flat=True)[: limit - len(found)]
            )
            if extra_ids:
                extra = {c.pk: c for c in base.filter(pk__in=extra_ids)}
                found.extend(extra[pk] for pk in extra_ids if pk in extra)
            return found
        target = hangul_jamo(q)
        scored = []
        rows = (
            searchable.exclude(pk__in=seen)
            .annotate(name_len=Length("name"))
            .filter(name_len__gte=len(q) - 1, name_len__lte=len(q) + 1)
            .values_list("pk", "name")[:FUZZY_SCAN_LIMIT]
        )
        for pk, name in rows:
            d = _edit_distance(target, hangul_jamo(name), 2)
            if d <= 2:
                scored.append((d, name, pk))
        scored.sort()
        extra_ids = [pk for _d, _n, pk in scored[: limit - len(found)]]
        if extra_ids:
            extra = {c.pk: c for c in base.filter(pk__in=extra_ids)}
            found.extend(extra[pk] for pk in extra_ids if pk in extra)
    return found


# --- Partner import batches ------------------------------------------------------------------------


def import_batch_list_for(user: User) -> QuerySet[ImportBatch]:
    """The batches of the caller's center (counselors and managers; everyone else 403)."""
    actor = pii_actor(user)
    return ImportBatch.objects.filter(center_id=actor.center_id or 0).select_related("uploaded_by", "approved_by")


def import_batch_get_for_user(user: User, pk: object) -> ImportBatch:
    return _get_or_404(import_batch_list_for(user), pk=pk)


def import_rows_matched(batch: ImportBatch, *, limit: int = 200) -> list[ImportRow]:
    """Rows linked to a client the center already has, with that client (the preview's matches)."""
    return list(
        ImportRow.objects.filter(batch=batch, matched_client__isnull=False)
        .select_related("matched_client")
        .order_by("number")[:limit]
    )
