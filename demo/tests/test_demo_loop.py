"""The demo's own loop, as `make run` users walk it (on SQLite there, on both databases here): seed the demo,
take in a client, refer them to the microfinance center, accept, start and complete there, and see it on the
receiving center's statistics page."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from cases.models import Case
from cases.tests.test_views import intake_post
from referral.models import EventKind, Referral, ReferralEvent

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


class _StatsTable(HTMLParser):
    """The statistics table as {header: cell text} per body row."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self._in_table = False
        self._where = ""
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and dict(attrs).get("data-testid") == "stats-table":
            self._in_table = True
        elif self._in_table and tag in ("thead", "tbody"):
            self._where = tag
        elif self._in_table and self._where == "tbody" and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag in ("th", "td"):
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag in ("th", "td") and self._text is not None:
            (self.headers if self._where == "thead" else self.rows[-1]).append("".join(self._text).strip())
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def month_row(self, month: str) -> dict[str, str] | None:
        return next((dict(zip(self.headers, row, strict=True)) for row in self.rows if row[0] == month), None)


def _as(username: str) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _center_month(web: Client, month: str, headers: tuple[str, ...]) -> list[int]:
    """The month's figures under those headers on the center's statistics page (0 while it has no row)."""
    page = web.get(reverse("stats:dashboard"), {"from": month, "to": month, "group": "month"})
    assert page.status_code == 200
    table = _StatsTable()
    table.feed(page.content.decode())
    assert set(headers) <= set(table.headers), table.headers
    row = table.month_row(month)
    return [int(row[h]) if row else 0 for h in headers]


def test_seeded_demo_intake_refer_accept_complete_shows_on_the_statistics_page(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", history=0, verbosity=0)
    month = timezone.localtime().strftime("%Y-%m")
    with translation.override("ko"):
        headers = tuple(translation.gettext(h) for h in ("Referrals received", "Completed", "Achieved outcomes"))
    mf_manager = _as("mf_manager")
    before = _center_month(mf_manager, month, headers)

    counselor = _as("counselor")
    with django_capture_on_commit_callbacks(execute=True):
        taken_in = counselor.post(reverse("cases:intake"), intake_post(name="연계데모", phone="010-8765-4321"))
    case = Case.objects.get(client__name="연계데모")
    assert taken_in.status_code == 302 and taken_in.url == reverse("cases:case_detail", args=[case.pk])

    with django_capture_on_commit_callbacks(execute=True):
        counselor.post(
            reverse("referral:create"), {"case": case.pk, "service": "debt_adjustment", "priority": "normal"}
        )
    referral = Referral.objects.get(case=case)
    assert referral.to_center is not None and referral.to_center.code == "MF-SEOUL-GWANAK"

    mf_counselor = _as("mf_counselor")
    for action, data in (
        ("accept", {}),
        ("start", {}),
        ("complete", {"outcome": "fast_track_agreed", "achieved": "yes"}),
    ):
        with django_capture_on_commit_callbacks(execute=True):
            done = mf_counselor.post(reverse("referral:act", args=[referral.pk, action]), data, follow=True)
        assert done.status_code == 200
    referral.refresh_from_db()
    assert referral.status == "completed"

    assert _center_month(mf_manager, month, headers) == [n + 1 for n in before]


def _shift_month(month: str, back: int) -> str:
    y, m = map(int, month.split("-"))
    total = y * 12 + m - 1 - back
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def test_seed_demo_loads_a_year_of_history_that_the_ministry_dashboard_draws_once():
    """`make run` shows service as it looks in use: the ministry's dashboard has twelve months of referrals,
    the demo center's queue carries overdue items, declines and completions; a second run adds nothing."""
    call_command("seed_demo", history=600, verbosity=0)
    count = Referral.objects.count()
    assert count == 605  # the five hand-made referrals and the history
    call_command("seed_demo", history=600, verbosity=0)
    assert Referral.objects.count() == count

    now = timezone.localtime().strftime("%Y-%m")
    ministry = _as("ministry")
    page = ministry.get(reverse("stats:dashboard"), {"from": _shift_month(now, 11), "to": now, "group": "month"})
    assert page.status_code == 200
    table = _StatsTable()
    table.feed(page.content.decode())
    with translation.override("ko"):
        sent = translation.gettext("Referrals sent")
    months = [_shift_month(now, k) for k in range(12)]
    filled = [m for m in months if (row := table.month_row(m)) and row[sent] not in ("", "0")]
    assert filled == months, (table.headers, table.rows)

    statuses = set(Referral.objects.values_list("status", flat=True))
    assert {"requested", "accepted", "in_progress", "completed", "failed", "rejected", "cancelled"} <= statuses
    # A re-route after a decline is in the history, with its "why this desk".
    assert ReferralEvent.objects.filter(kind=EventKind.DECLINE).exists()
    assert ReferralEvent.objects.filter(kind=EventKind.ROUTE).count() > count
