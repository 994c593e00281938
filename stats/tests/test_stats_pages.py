import csv
import io
from datetime import date, datetime, timedelta
from html.parser import HTMLParser

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from centers.models import Center
from referral.models import EventKind, Status
from stats.definitions import SEOUL
from stats.services import mark_dirty, stats_refresh_month
from stats.tests.history import CaseFactory, ClientFactory, ReferralEventFactory, ReferralFactory, routed_to

pytestmark = pytest.mark.django_db

MARCH = datetime(2026, 3, 10, 10, 0, tzinfo=SEOUL)
QS = "?from=2026-01&to=2026-03"
SECRET_NAMES = ["홍길비밀", "김비공개"]
SECRET_PHONES = ["010-9876-5432", "010-1357-2468"]
SECRET_NOTE = "비밀메모-채무상세"
RRN = "900101-1234567"


@pytest.fixture
def seeded(directory):
    """Gwanak (Seoul) refers 12 clients to its co-located finance desk; Busan has 2 clients (small cells)."""
    gwanak = Center.objects.get(code="EW-SEOUL-GWANAK")
    busan = Center.objects.get(code="EW-BUSAN-SAHA")
    for i in range(12):
        client = ClientFactory(
            center=gwanak,
            name=SECRET_NAMES[i % 2] + str(i),
            phone=SECRET_PHONES[i % 2],
            rrn_prefix=RRN[:8],
        )
        case = CaseFactory(client=client, opened_at=MARCH + timedelta(hours=i), note=SECRET_NOTE)
        r = ReferralFactory(
            case=case,
            note=SECRET_NOTE,
            status=Status.COMPLETED if i < 8 else Status.ACCEPTED,
            accepted_at=case.opened_at + timedelta(hours=2 + i),
            closed_at=case.opened_at + timedelta(days=3) if i < 8 else None,
            outcome="loan_granted" if i < 8 else "",
            achieved=(i < 6) if i < 8 else None,
            colocated=True,
            **routed_to("EW-SEOUL-GWANAK-FIN-OUT"),
        )
        if i < 6:
            ReferralEventFactory(referral=r, kind=EventKind.DECLINE, note=SECRET_NOTE, desk=r.to_desk)
    for i in range(2):
        client = ClientFactory(center=busan, name=f"부산비밀{i}", phone="010-2222-3333")
        case = CaseFactory(client=client, center=busan, opened_at=MARCH, note=SECRET_NOTE)
        ReferralFactory(case=case, status=Status.REQUESTED, **routed_to("EW-BUSAN-SAHA-EMP"))
    mf = Center.objects.get(code="MF-SEOUL-GWANAK")
    for i in range(6):
        client = ClientFactory(center=mf, name=f"서민비밀{i}", phone="010-4444-5555")
        case = CaseFactory(client=client, center=mf, opened_at=MARCH)
        ReferralFactory(case=case, status=Status.REQUESTED, **routed_to("MF-SEOUL-GWANAK-FIN"))
    for m in (date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)):
        stats_refresh_month(month=m, as_of=datetime(2026, 3, 20, tzinfo=SEOUL))


def _login(client, user):
    client.force_login(user)
    return client


def assert_no_personal_data(blob: str) -> None:
    for s in [
        *SECRET_NAMES,
        *SECRET_PHONES,
        SECRET_NOTE,
        RRN,
        RRN[:8],
        "부산비밀",
        "010-2222-3333",
        "서민비밀",
        "010-4444-5555",
    ]:
        assert s not in blob, s


def _xlsx_text(content: bytes) -> str:
    wb = load_workbook(io.BytesIO(content))
    return "\n".join(str(c) for ws in wb.worksheets for row in ws.iter_rows(values_only=True) for c in row)


def test_no_personal_data_reaches_the_ministry_in_any_page_api_or_export(client, api_for, seeded, ministry_user):
    _login(client, ministry_user)
    api = api_for(ministry_user)
    for group in ["month", "center", "region", "kind", "domain", "service", "desk", "channel"]:
        q = f"{QS}&group={group}"
        page = client.get(reverse("stats:dashboard") + q)
        assert page.status_code == 200
        assert_no_personal_data(page.content.decode())
        assert_no_personal_data(client.get(reverse("stats:export_csv") + q).content.decode("utf-8-sig"))
        assert_no_personal_data(_xlsx_text(client.get(reverse("stats:export_xlsx") + q).content))
        res = api.get("/api/v1/stats/monthly/" + q)
        assert res.status_code == 200
        assert_no_personal_data(res.content.decode())
        assert_no_personal_data(api.get("/api/v1/stats/monthly/" + q + "&format=csv").content.decode("utf-8-sig"))
        assert_no_personal_data(_xlsx_text(api.get("/api/v1/stats/monthly/" + q + "&format=xlsx").content))


@pytest.mark.sqlite
def test_ministry_sees_small_cells_as_under_five_and_center_sees_its_own_numbers(
    api_for, seeded, ministry_user, make_staff
):
    res = api_for(ministry_user).get("/api/v1/stats/monthly/" + QS + "&group=center").json()
    rows = {(r["month"], r["center"]): r for r in res["results"]}
    busan = rows[("2026-03", "EW-BUSAN-SAHA")]
    assert busan["clients"] == "<5"
    assert busan["referrals_sent"] == "<5" and busan["walk_ins"] == "<5"
    assert "2" not in {str(v) for k, v in busan.items() if k not in ("month", "center", "region", "kind")}
    gwanak = rows[("2026-03", "EW-SEOUL-GWANAK")]
    assert gwanak["clients"] == 12 and gwanak["referrals_sent"] == 12 and gwanak["completed"] == 8
    # 2 of 8 completions not achieved is fine to show as 6 achieved; its 6 declines are shown.
    assert gwanak["achieved"] == 6 and gwanak["declined"] == 6
    # The busan manager sees their own 2 clients, unsuppressed, and nothing of Gwanak.
    busan_manager = make_staff("center_manager", "EW-BUSAN-SAHA")
    own = api_for(busan_manager).get("/api/v1/stats/monthly/" + QS + "&group=center").json()["results"]
    assert [(r["center"], r["clients"], r["referrals_sent"]) for r in own if r["month"] == "2026-03"] == [
        ("EW-BUSAN-SAHA", 2, 2)
    ]
    other = api_for(busan_manager).get("/api/v1/stats/monthly/" + QS + "&center=EW-SEOUL-GWANAK")
    assert other.status_code == 403


def test_single_small_row_is_protected_by_hiding_another_so_the_total_cannot_reveal_it(api_for, seeded, ministry_user):
    res = api_for(ministry_user).get("/api/v1/stats/monthly/" + QS + "&group=center").json()
    march = [r for r in res["results"] if r["month"] == "2026-03"]
    national = api_for(ministry_user).get("/api/v1/stats/monthly/" + QS).json()["results"]
    total_sent = next(r for r in national if r["month"] == "2026-03")["referrals_sent"]
    visible = [r["referrals_sent"] for r in march if isinstance(r["referrals_sent"], int)]
    hidden = [r["referrals_sent"] for r in march if isinstance(r["referrals_sent"], str)]
    assert total_sent == 20
    # Busan's 2 are "<5"; the smallest other center (6 at the microfinance center) is hidden with it, so
    # the national total minus the visible rows reveals only the sum of two cells.
    assert sorted(hidden) == ["*", "<5"]
    assert visible == [12]


def test_csv_export_opens_with_korean_intact_and_matches_the_table(client, seeded, admin_user_staff):
    _login(client, admin_user_staff)
    res = client.get(reverse("stats:export_csv") + QS + "&group=center")
    assert res["Content-Type"].startswith("text/csv")
    assert res.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["월", "센터", "지역"]
    gwanak = next(r for r in rows if r[1] == "서울관악고용복지플러스센터" and r[0] == "2026-03")
    assert gwanak[2] == "서울특별시"
    page = client.get(reverse("stats:dashboard") + QS + "&group=center").content.decode()
    for cell in gwanak[:6]:
        assert f"<td>{cell}</td>" in page


class _TableReader(HTMLParser):
    """The stats table's body as [(row class, [(cell text, span class or None)])]."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[tuple[str, str | None]]]] = []
        self._in_table = self._in_body = False
        self._cell: list[str] | None = None
        self._span: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("data-testid") == "stats-table":
            self._in_table = True
        elif self._in_table and tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append((a.get("class") or "", []))
        elif self._in_body and tag == "td":
            self._cell, self._span = [], None
        elif self._cell is not None and tag == "span":
            self._span = a.get("class")

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.rows[-1][1].append(("".join(self._cell), self._span))
            self._cell = None
        elif tag == "tbody":
            self._in_body = self._in_table = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.mark.parametrize("group", ["center", "desk", "month"])
@pytest.mark.sqlite
def test_dashboard_table_is_exactly_the_csv_with_markers_for_suppressed_cells_and_the_total(
    client, seeded, ministry_user, group
):
    _login(client, ministry_user)
    csv_rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("stats:export_csv") + QS + f"&group={group}").content.decode("utf-8-sig"))
        )
    )
    reader = _TableReader()
    reader.feed(client.get(reverse("stats:dashboard") + QS + f"&group={group}").content.decode())
    assert [[text for text, _span in cells] for _cls, cells in reader.rows] == csv_rows[1:]
    assert [cls for cls, _cells in reader.rows] == [""] * (len(csv_rows) - 2) + ["total"]
    marked = [(text, span) for _cls, cells in reader.rows for text, span in cells if text in ("<5", "*")]
    if group != "month":  # national monthly totals are large; per center and desk, Busan's 2 clients are not
        assert marked, "the seeded Busan rows are small: the ministry must see suppressed cells"
    assert all(span == "suppressed" for _text, span in marked)


def test_xlsx_export_opens_and_matches_the_table_with_a_filter_sheet(client, seeded, ministry_user):
    _login(client, ministry_user)
    res = client.get(reverse("stats:export_xlsx") + QS + "&group=center")
    wb = load_workbook(io.BytesIO(res.content))
    sheet, info = wb.worksheets
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    csv_rows = list(
        csv.reader(
            io.StringIO(client.get(reverse("stats:export_csv") + QS + "&group=center").content.decode("utf-8-sig"))
        )
    )

    def norm(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return "" if v is None else str(v)

    assert [[norm(v) for v in r] for r in rows] == [[norm(v) for v in r] for r in csv_rows]
    assert sheet["A1"].font.bold
    first_count = next(c for c in sheet[2] if isinstance(c.value, int))
    assert first_count.number_format == "#,##0"
    text = "\n".join(str(c) for r in info.iter_rows(values_only=True) for c in r)
    assert "2026-01" in text and "<5" in text


def test_bad_api_parameters_answer_400_with_field_errors(api_for, seeded, ministry_user):
    api = api_for(ministry_user)
    for params, field in [
        ("from=2026-13", "from"),
        ("to=abc", "to"),
        ("from=2026-03&to=2026-01", "from"),
        ("group=nope", "group"),
        ("kind=bank", "kind"),
        ("region=99", "region"),
        ("center=NOPE", "center"),
        ("domain=x", "domain"),
        ("format=pdf", "format"),
        ("from=2000-01&to=2026-01", "from"),
        ("center=%00", "detail"),  # refused by config.middleware before the view
    ]:
        res = api.get("/api/v1/stats/monthly/?" + params)
        assert res.status_code == 400, params
        assert field in res.json(), (params, res.json())


def test_api_formats_csv_and_xlsx_and_unauthenticated_is_refused(api_for, seeded, ministry_user):
    api = api_for(ministry_user)
    assert api.get("/api/v1/stats/monthly/?format=csv").content.startswith(b"\xef\xbb\xbf")
    assert api.get("/api/v1/stats/monthly/?format=xlsx").content[:2] == b"PK"
    assert api.get("/api/v1/stats/monthly/?format=json").json()["suppressed"] is True
    assert api_for(None).get("/api/v1/stats/monthly/").status_code in (401, 403)


def test_schema_still_generates_with_the_stats_endpoint(client):
    res = client.get("/api/schema/")
    assert res.status_code == 200
    assert b"/api/v1/stats/monthly/" in res.content


@pytest.mark.sqlite
def test_dashboard_and_api_query_counts_are_pinned(
    client, api_for, seeded, ministry_user, django_assert_max_num_queries
):
    _login(client, ministry_user)
    client.get(reverse("stats:dashboard") + QS)
    with django_assert_max_num_queries(17):
        assert client.get(reverse("stats:dashboard") + QS + "&group=center").status_code == 200
    api = api_for(ministry_user)
    with django_assert_max_num_queries(12):
        assert api.get("/api/v1/stats/monthly/" + QS + "&group=service").status_code == 200


@pytest.mark.sqlite
def test_a_change_marked_dirty_is_rolled_up_after_commit(
    directory, django_capture_on_commit_callbacks, admin_user_staff, api_for
):
    case = CaseFactory(opened_at=MARCH)
    with django_capture_on_commit_callbacks(execute=True):
        mark_dirty(at=case.opened_at)
    res = api_for(admin_user_staff).get("/api/v1/stats/monthly/?from=2026-03&to=2026-03").json()
    assert res["results"][0]["walk_ins"] == 1


def test_the_cards_say_when_their_month_is_still_under_way(client, seeded, ministry_user):
    _login(client, ministry_user)
    with time_machine.travel(datetime(2026, 3, 20, 15, 0, tzinfo=SEOUL), tick=False):
        # Ending with the month under way: its figures are 20 days' worth, compared with a whole February.
        now = client.get("/stats/?start=2026-01&end=2026-03").content.decode()
        ended = client.get("/stats/?start=2026-01&end=2026-02").content.decode()
    assert "기준 월: 2026-03(진행 중, 20일까지) · 비교: 2026-02 한 달 전체" in now
    assert "기준 월: 2026-02 · 비교: 2026-01" in ended and "진행 중" not in ended
