"""Every page speaks Korean: a crawl of the demo (`seed_demo` with a small history) as every demo account, from
its home page through every link, htmx fragment and export it can reach, failing on any catalog code (need,
service, outcome, reason, routing reason, event kind, status, center kind, channel...) or any English text
left in the Korean UI.

What counts as English: a run of two or more Latin words in the visible text (a page title, a button, a
column header), or any English msgid of our catalog shown whole. A few proper nouns are allowed by name."""

from __future__ import annotations

import csv
import gettext
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import models
from django.test import Client

from cases.needs import NEEDS
from referral.lifecycle import ROUTING_REASONS

pytestmark = pytest.mark.django_db

# Pages that are not ours to translate (Django's admin has its own Korean catalog; our model and field names
# in it are checked through the admin index and changelists below) or that change state or end the session.
SKIP_PREFIXES = (
    # The partner upload templates hold the codes a partner types (need, service, organization kind), each
    # beside its Korean label on the template's code sheet: values to enter, not labels to read.
    "/cases/imports/template.",
    "/static/",
    "/api/",
    "/accounts/logout",
    "/i18n/",
    "/metrics",
    "/healthz",
    "/livez",
)
# Proper nouns and formats that stay in Latin letters in Korean, as the ministry's own pages write them.
ALLOWED_LATIN = {
    "Work24",
    "Yeongye",
    "CSV",
    "Excel",
    "XLSX",
    "PDF",
    "API",
    "Open API",
    "Google Authenticator",
    "OTP",
    "ID",
    "SMS",
    "HL7 FHIR",
}
PAGES_PER_PATTERN = 2  # /referrals/123/ and /referrals/456/ are one page to translate
MAX_PAGES_PER_ACCOUNT = 160


class _Page(HTMLParser):
    """Visible text (no script, style, or hidden inputs) and the links, htmx URLs and GET form targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("script", "style", "template"):
            self._skip += 1
        for key in ("href", "hx-get", "data-href"):
            if a.get(key):
                self.links.append(str(a[key]))
        if tag == "form" and (a.get("method") or "get").lower() == "get" and a.get("action"):
            self.links.append(str(a["action"]))
        # Text a person reads outside the element's content: placeholders, titles, button values.
        for key in ("placeholder", "title", "aria-label", "alt"):
            if a.get(key):
                self.text.append(str(a[key]))
        if tag == "input" and a.get("type") in ("submit", "button") and a.get("value"):
            self.text.append(str(a["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.text.append(data.strip())


def _catalog_codes() -> set[str]:
    """Every code a person must never read: the values of our models' choices, need and service codes, the
    outcome codes, routing reasons."""
    codes: set[str] = set()
    for model in apps.get_models():
        if model._meta.app_label not in ("centers", "cases", "referral", "jobs", "stats", "privacy", "core"):
            continue
        for f in model._meta.get_fields():
            choices = getattr(f, "choices", None)
            if choices and isinstance(f, models.Field):
                codes |= {str(v) for v, _ in f.flatchoices if isinstance(v, str)}
    from centers.models import Service, ServiceOutcome

    codes |= set(Service.objects.values_list("code", flat=True))
    codes |= set(ServiceOutcome.objects.values_list("code", flat=True))
    codes |= {n.code for n in NEEDS}
    codes |= set(ROUTING_REASONS)
    return {c for c in codes if len(c) > 2}


def _english_msgids() -> set[str]:
    """Our catalog's English msgids with a Korean translation different from themselves (proper nouns and
    formats translate to themselves and may show)."""
    path = settings.BASE_DIR / "locale" / "ko" / "LC_MESSAGES" / "django.mo"
    with path.open("rb") as fh:
        catalog: dict[Any, str] = gettext.GNUTranslations(fh)._catalog  # type: ignore[attr-defined]
    found = set()
    for msgid, msgstr in catalog.items():
        if not isinstance(msgid, str) or "\x04" in msgid:  # plural forms and contexts
            continue
        if msgid and msgstr and msgstr != msgid and "%" not in msgid and "{" not in msgid:
            # Only sentences and phrases: a single short word ("Mon", "Open") can be part of a name.
            if " " in msgid.strip() and len(msgid) >= 8:
                found.add(msgid.strip())
    return found


LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ \-][A-Za-z][A-Za-z'’]+)+")
SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
WORD = re.compile(r"\b[a-z]{3,}\b")
EMAIL = re.compile(r"\S*@\S+")


@dataclass
class Findings:
    by_page: dict[str, list[str]] = field(default_factory=dict)

    def add(self, where: str, what: str) -> None:
        items = self.by_page.setdefault(where, [])
        if what not in items:
            items.append(what)

    def report(self) -> str:
        return "\n".join(f"{page}: {', '.join(items[:12])}" for page, items in sorted(self.by_page.items()))


def _check_text(where: str, chunks: list[str], codes: set[str], msgids: set[str], allowed_words: set[str], out):
    for chunk in chunks:
        text = EMAIL.sub(" ", chunk)
        for allowed in ALLOWED_LATIN:
            text = text.replace(allowed, " ")
        for code in SNAKE.findall(text):
            out.add(where, f"code {code!r}")
        for word in WORD.findall(text):
            if word in codes and word not in allowed_words:
                out.add(where, f"code {word!r}")
        for run in LATIN_RUN.findall(text):
            out.add(where, f"English {run!r}")
        if chunk.strip() in msgids:
            out.add(where, f"msgid {chunk.strip()!r}")


# The admin: its index and our apps' lists (Django's own screens come with Django's Korean catalog; the
# third-party login-attempt and token screens have none and are for the system admin only).
_ADMIN_APPS = ("centers", "cases", "referral", "jobs", "stats", "privacy", "auth/user")


def _ours_in_admin(path: str) -> bool:
    rest = path.removeprefix("/admin/")
    if rest == "":
        return True
    return rest.startswith(_ADMIN_APPS) and not rest.rstrip("/").endswith(("change", "delete", "history", "add"))


def _pattern(path: str) -> str:
    split = urlsplit(path)
    shape = re.sub(r"\d+", "N", split.path)
    keys = "&".join(sorted(k.split("=")[0] for k in split.query.split("&") if k)) if split.query else ""
    return f"{shape}?{keys}"


def _crawl(username: str, codes: set[str], msgids: set[str], out: Findings) -> int:
    web = Client(HTTP_ACCEPT_LANGUAGE="ko")
    web.force_login(get_user_model().objects.get(username=username))
    allowed_words = {username, *username.split("_")}
    identifiers: set[str] = set()
    if username == "admin":
        # The admin's lists show usernames and directory codes (EW-SEOUL-GWANAK): identifiers, not labels.
        from centers.models import Center, Desk

        identifiers = set(get_user_model().objects.values_list("username", flat=True))
        identifiers |= set(Center.objects.values_list("code", flat=True)) | set(
            Desk.objects.values_list("code", flat=True)
        )
        # The access log's screen column names the page or endpoint by its URL name (cases:case_detail).
        from cases.models import PiiAccessLog

        identifiers |= set(PiiAccessLog.objects.values_list("view", flat=True))
        # The directory's codes and English names are what the admin edits: data, not the admin's labels.
        from centers.models import Region, Service, ServiceOutcome

        for model in (Service, ServiceOutcome):
            identifiers |= set(model.objects.values_list("code", flat=True))
            identifiers |= set(model.objects.values_list("name_en", flat=True))
        for place in (Region, Center):
            identifiers |= set(place.objects.values_list("name_en", flat=True))
        identifiers.discard("")
    seen: set[str] = set()
    per_pattern: Counter[str] = Counter()
    queue = ["/"]
    visited = 0
    while queue and visited < MAX_PAGES_PER_ACCOUNT:
        url = urldefrag(queue.pop(0)).url
        split = urlsplit(url)
        if split.netloc or split.scheme or not split.path.startswith("/"):
            continue
        if url in seen or split.path.startswith(SKIP_PREFIXES):
            continue
        if split.path.startswith("/admin/") and (username != "admin" or not _ours_in_admin(split.path)):
            continue
        seen.add(url)
        pattern = _pattern(url)
        if per_pattern[pattern] >= PAGES_PER_PATTERN:
            continue
        per_pattern[pattern] += 1
        resp = web.get(url, follow=True)
        visited += 1
        where = f"{username} {url}"
        assert resp.status_code < 500, f"{where}: {resp.status_code}"
        kind = resp.get("Content-Type", "")
        if "text/html" in kind:
            page = _Page()
            page.feed(resp.content.decode())
            text = page.text
            for ident in sorted(identifiers, key=len, reverse=True):
                text = [t.replace(ident, " ") if ident in t else t for t in text]
            _check_text(where, text, codes, msgids, allowed_words, out)
            base = resp.request["PATH_INFO"]
            for link in page.links:
                if link.startswith("?"):
                    link = base + link
                queue.append(link)
        elif "text/csv" in kind:
            rows = list(csv.reader(io.StringIO(resp.content.decode("utf-8-sig"))))
            _check_text(where, [c for row in rows[:20] for c in row if c], codes, msgids, allowed_words, out)
        elif "spreadsheetml" in kind:
            from openpyxl import load_workbook

            book = load_workbook(io.BytesIO(resp.content), read_only=True)
            cells = [
                str(c)
                for sheet in book.worksheets
                for row in sheet.iter_rows(max_row=20, values_only=True)
                for c in row
                if isinstance(c, str) and c
            ]
            _check_text(where, cells, codes, msgids, allowed_words, out)
    return visited


@pytest.fixture
def demo_world(django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", history=300, verbosity=0)


def test_the_checker_catches_a_raw_code_and_english_text():
    """The crawl's own check, on a made-up page: it would notice the faults it hunts."""
    out = Findings()
    page = _Page()
    page.feed("<h1>의뢰</h1><td>debt_adjustment</td><button>Send referral</button><p>접수 대기</p>")
    _check_text("page", page.text, {"debt_adjustment", "requested"}, {"Send referral"}, set(), out)
    assert out.by_page["page"] == ["code 'debt_adjustment'", "English 'Send referral'", "msgid 'Send referral'"]
    clean = Findings()
    _check_text("page", ["Work24 제공 · 접수 대기 · counselor@demo.yeongye.local"], {"requested"}, set(), set(), clean)
    assert clean.by_page == {}


def test_every_page_export_and_fragment_speaks_korean_for_every_demo_account(demo_world):
    from demo.management.commands.seed_demo import DEMO_ACCOUNTS

    codes = _catalog_codes()
    msgids = _english_msgids()
    out = Findings()
    visited = {username: _crawl(username, codes, msgids, out) for username, *_ in DEMO_ACCOUNTS}
    # The crawl reached the pages people use, not just a login page.
    assert all(n >= 5 for n in visited.values()), visited
    assert not out.by_page, f"raw codes or English on {len(out.by_page)} pages:\n{out.report()}"
