"""Partner import batches: reading files, checking rows with the intake rules, matching, maker-checker."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from typing import Any

import openpyxl
import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from cases import imports, services
from cases.inputs import client_facts_parse
from cases.models import Client, ImportBatch, ImportRow, ImportStatus
from cases.tests.factories import valid_rrn
from referral.models import Referral

pytestmark = pytest.mark.django_db

LG = "LG-SEOUL-GWANAK"
HEADER = [
    "이름",
    "생년월일",
    "전화번호",
    "주민등록번호",
    "성별",
    "욕구",
    "연계서비스",
    "동의일",
    "동의방법",
    "제공동의기관",
    "메모",
]


def _row(n: int, **over: Any) -> dict[str, Any]:
    row = {
        "name": "김발굴",
        "birth_date": dt.date(1970, 1, 1) + dt.timedelta(days=37 * n),
        "phone": f"010-7{n % 1000:03d}-{n % 10000:04d}",
        "rrn": "",
        "gender": "여",
        "needs": "debt_adjustment; credit_counseling",
        "service": "debt_adjustment",
        "consent_date": (timezone.localdate() - dt.timedelta(days=3)).isoformat(),
        "consent_method": "서면",
        "consent_kinds": "microfinance; local_government",
        "note": "지자체 발굴",
    }
    row.update(over)
    return row


def _csv(rows: list[dict[str, Any]], *, encoding: str = "utf-8", bom: bool = False, header=HEADER) -> bytes:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(header)
    for r in rows:
        w.writerow([str(r.get(k, "")) for k in imports.COLUMN_BY_KEY])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def _xlsx(rows: list[list[Any]], *, sheet: str = imports.TEMPLATE_SHEET, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = sheet
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def partner(directory, make_staff):
    return make_staff("counselor", LG, username="lg_counselor")


@pytest.fixture
def lg_manager(directory, make_staff):
    return make_staff("center_manager", LG, username="lg_manager")


@pytest.fixture
def upload(api_for, partner, django_capture_on_commit_callbacks):
    """POST a file (or JSON rows) as the partner counselor; validation runs as the worker would, on commit."""

    def post(content: bytes | dict, name: str = "list.csv", user=None):
        api = api_for(user or partner)
        with django_capture_on_commit_callbacks(execute=True):
            if isinstance(content, dict):
                return api.post("/api/v1/imports/", content, format="json")
            return api.post("/api/v1/imports/", {"file": _file(content, name)}, format="multipart")

    return post


def _file(content: bytes, name: str) -> io.BytesIO:
    f = io.BytesIO(content)
    f.name = name
    return f


def _batch(resp) -> ImportBatch:
    return ImportBatch.objects.get(pk=resp.json()["id"])


# --- Reading -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("encoding", "bom"), [("utf-8", False), ("utf-8", True), ("cp949", False), ("euc-kr", False)])
def test_csv_in_utf8_with_or_without_bom_and_in_korean_excels_encoding_is_read(upload, encoding, bom):
    resp = upload(_csv([_row(1), _row(2)], encoding=encoding, bom=bom))
    assert resp.status_code == 201, resp.content
    batch = _batch(resp)
    assert (batch.status, batch.total_rows, batch.valid_rows, batch.errors) == ("ready", 2, 2, [])
    assert batch.rows.get(number=2).data["name"] == "김발굴"


def test_english_headers_and_json_rows_are_accepted_too(upload):
    english = _csv([_row(1)], header=list(imports.COLUMN_BY_KEY))
    assert _batch(upload(english)).status == "ready"
    rows = [{**_row(2), "birth_date": _row(2)["birth_date"].isoformat(), "needs": ["job_search"]}]
    resp = upload({"rows": rows})
    assert resp.status_code == 201
    assert resp.json()["status"] in ("validating", "ready")
    assert _batch(resp).status == "ready"


def test_the_downloaded_templates_upload_as_one_valid_row(upload, partner, client):
    client.force_login(partner)
    for fmt in ("xlsx", "csv"):
        resp = client.get(reverse("cases:import_template", args=[fmt]))
        assert resp.status_code == 200
        content = resp.content
        if fmt == "xlsx":
            book = openpyxl.load_workbook(io.BytesIO(content))
            assert book[imports.TEMPLATE_SHEET]["A1"].value == "이름"
        got = upload(content, name=f"template.{fmt}")
        batch = _batch(got)
        assert (batch.status, batch.total_rows, batch.valid_rows) == ("ready", 1, 1), batch.errors


def test_an_xlsx_with_dates_numbers_and_a_leading_zero_lost_by_excel_is_read(upload):
    row = ["이엑셀", dt.datetime(1981, 5, 6), 1098765432, None, "M", "job_search", "job_placement"]  # noqa: DTZ001
    row += [timezone.localdate() - dt.timedelta(days=1), "전자", "employment_welfare", None]
    batch = _batch(upload(_xlsx([row]), name="list.xlsx"))
    assert batch.status == "ready", batch.errors
    data = batch.rows.get().data
    assert (data["birth_date"], data["phone"], data["consent_method"]) == ("1981-05-06", "010-9876-5432", "electronic")


def test_a_workbook_without_the_list_sheet_is_refused_with_the_sheet_names(upload):
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.create_sheet("Sheet2")
    out = io.BytesIO()
    book.save(out)
    resp = upload(out.getvalue(), name="list.xlsx")
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "invalid_file"
    assert "연계명단" in body["detail"] and "Sheet1" in body["detail"]
    assert body["errors"] == [{"row": 0, "field": "file", "message": body["detail"]}]
    assert not ImportBatch.objects.exists()


def test_a_zip_bomb_is_refused_from_its_directory_before_anything_is_decompressed(upload):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", b"<x/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    assert len(buf.getvalue()) < 200_000
    resp = upload(buf.getvalue(), name="bomb.xlsx")
    assert resp.status_code == 400
    assert "거부" in resp.json()["detail"] or "expands" in resp.json()["detail"]


@pytest.mark.parametrize(
    ("content", "name", "needle"),
    [
        (b"", "empty.csv", "빈 파일"),
        ("이름,생년월일\n".encode(), "cols.csv", "연계서비스"),
        (_csv([]), "header-only.csv", "행이 없"),
        (b"PK\x03\x04garbage", "broken.xlsx", "읽을 수 없"),
        (b"\xd0\xcf\x11\xe0old", "old.xls", ".xls"),
        (b"\xff\xfe\x00\x00\x81\x00", "binary.csv", ""),
    ],
)
def test_unreadable_files_are_one_clear_error_and_no_batch(upload, content, name, needle):
    resp = upload(content, name=name)
    assert resp.status_code == 400, resp.content
    assert needle in resp.json()["detail"]
    assert not ImportBatch.objects.exists()


def test_limits_on_rows_and_bytes_are_configurable_and_say_so(upload, settings):
    settings.IMPORT_MAX_ROWS = 2
    resp = upload(_csv([_row(i) for i in range(3)]))
    assert resp.status_code == 400 and "2" in resp.json()["detail"]
    settings.IMPORT_MAX_ROWS = 20_000
    settings.IMPORT_MAX_BYTES = 100
    resp = upload(_csv([_row(1)]))
    assert resp.status_code == 400 and "MB" in resp.json()["detail"]
    assert not ImportBatch.objects.exists()


# --- Checking rows ----------------------------------------------------------------------------------------


def test_hostile_and_wrong_cells_are_row_errors_in_korean_and_nothing_is_kept(upload):
    rows = [
        _row(1, name='=HYPERLINK("http://evil","x")'),
        _row(2, note="줄\x07바꿈"),
        _row(3, note="가" * 10_000),
        _row(4, birth_date="1990-13-45"),
        _row(5, phone="abc"),
        _row(6, needs="no_such_need"),
        _row(7, service="no_such_service"),
        _row(8, consent_date=(timezone.localdate() + dt.timedelta(days=2)).isoformat()),
        _row(9, consent_method="구두"),
        _row(10, consent_kinds="employment_welfare"),  # debt adjustment is delivered by microfinance desks
        _row(11, rrn="850101-1234567"),  # wrong check digit, and not this birth date
        _row(12),
    ]
    resp = upload(_csv(rows))
    assert resp.status_code == 201
    batch = _batch(resp)
    assert batch.status == "invalid"
    by_row = {(e["row"], e["field"]) for e in batch.errors}
    # Spreadsheet rows: the header is row 1, so the n-th person is row n + 1.
    assert by_row == {
        (2, "name"),
        (3, "note"),
        (4, "note"),
        (5, "birth_date"),
        (6, "phone"),
        (7, "needs"),
        (8, "service"),
        (9, "consent_date"),
        (10, "consent_method"),
        (11, "consent_kinds"),
        (12, "rrn"),
    }
    messages = {(e["row"], e["field"]): e["message"] for e in batch.errors}
    assert messages[(2, "name")] == "셀에 수식이 들어 있습니다. 값만 입력하세요."
    assert "제어 문자" in messages[(3, "note")]
    assert "서민금융통합지원센터" in messages[(11, "consent_kinds")]
    assert "850101" not in json.dumps(batch.errors) and "1234567" not in json.dumps(batch.errors)
    # Never a partial batch: an invalid one keeps its errors only, not the people in it.
    assert not ImportRow.objects.filter(batch=batch).exists()
    detail = resp.client.get(f"/api/v1/imports/{batch.pk}/").json()
    assert (detail["rows"], detail["valid"], detail["status"], detail["report"]) == (12, 1, "invalid", [])
    assert len(detail["errors"]) == 11


def test_json_rows_with_wrong_types_are_row_errors_not_a_server_error(upload):
    resp = upload({"rows": [{"name": ["x"], "birth_date": 19800101, "phone": {"a": 1}, "needs": [1], "service": 3}]})
    assert resp.status_code == 201
    batch = _batch(resp)
    assert batch.status == "invalid"
    assert {e["field"] for e in batch.errors} >= {"name", "phone", "needs", "service", "consent_date"}
    assert upload({"rows": "nope"}).status_code == 400
    assert upload({"rows": [1, 2]}).status_code == 400


def test_a_person_listed_twice_is_one_error_not_two_clients(upload):
    twin = _row(1)
    batch = _batch(upload(_csv([twin, _row(2), dict(twin, service="credit_counseling")])))
    assert batch.status == "invalid"
    assert batch.errors == [{"row": 4, "field": "name", "message": "같은 사람이 2행에 이미 있습니다."}]


def test_rows_are_matched_to_the_centers_clients_by_rrn_or_name_birth_and_phone(upload, partner, make_staff):
    birth = dt.date(1975, 4, 3)
    by_rrn = services.client_register(
        user=partner,
        facts=client_facts_parse(
            {"name": "주민번호일치", "birth_date": birth, "phone": "010-1111-2222", "rrn": valid_rrn(birth)}
        ),
    )
    by_identity = services.client_register(
        user=partner,
        facts=client_facts_parse({"name": "김발굴", "birth_date": _row(2)["birth_date"], "phone": _row(2)["phone"]}),
    )
    # The same person at another center is not this center's client: no match, never a leak.
    other = make_staff("counselor", "EW-BUSAN-SAHA")
    services.client_register(
        user=other,
        facts=client_facts_parse({"name": "김발굴", "birth_date": _row(3)["birth_date"], "phone": _row(3)["phone"]}),
    )
    rows = [_row(1, name="이름다름", phone="010-9999-8888", birth_date=birth, rrn=valid_rrn(birth)), _row(2), _row(3)]
    batch = _batch(upload(_csv(rows)))
    assert (batch.status, batch.valid_rows, batch.matched_rows, batch.new_rows) == ("ready", 3, 2, 1)
    matched = dict(batch.rows.values_list("number", "matched_client_id"))
    assert matched == {2: by_rrn.pk, 3: by_identity.pk, 4: None}


def test_the_same_file_again_answers_the_existing_batch_and_creates_nothing(upload):
    content = _csv([_row(1)])
    first = upload(content)
    assert first.status_code == 201
    again = upload(content, name="renamed.csv")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert ImportBatch.objects.count() == 1 and ImportRow.objects.count() == 1
    # A corrected file is a new batch.
    assert upload(_csv([_row(1), _row(2)])).status_code == 201


def test_no_plaintext_rrn_is_stored_in_a_batch(upload):
    birth = dt.date(1988, 8, 8)
    rrn = valid_rrn(birth)
    batch = _batch(upload(_csv([_row(1, birth_date=birth, rrn=rrn)])))
    assert batch.status == "ready"
    digits = rrn.replace("-", "")
    with connection.cursor() as cur:
        cur.execute("SELECT data::text, encode(rrn_ciphertext, 'escape') FROM cases_importrow")
        for data, sealed in cur.fetchall():
            assert digits not in data and rrn not in data
            assert digits not in (sealed or "")


def test_validation_is_idempotent_and_reports_progress(partner):
    parsed = imports.import_json_parse(
        {"rows": [{**_row(i), "birth_date": str(_row(i)["birth_date"])} for i in range(3)]}
    )
    batch, created = imports.import_batch_create(user=partner, parsed=parsed)
    assert created and imports.import_progress(batch) == 0
    assert imports.import_batch_validate(batch_id=batch.pk).status == "ready"
    assert imports.import_batch_validate(batch_id=batch.pk) is None  # a second run changes nothing
    batch.refresh_from_db()
    assert imports.import_progress(batch) == 100


# --- Approval (maker-checker) ----------------------------------------------------------------------------


def test_a_manager_who_did_not_upload_approves_once(upload, api_for, partner, lg_manager, make_staff):
    batch = _batch(upload(_csv([_row(1)])))
    assert api_for(partner).post(f"/api/v1/imports/{batch.pk}/approve/").status_code == 403
    own = _batch(upload(_csv([_row(2)]), user=lg_manager))
    resp = api_for(lg_manager).post(f"/api/v1/imports/{own.pk}/approve/")
    assert resp.status_code == 409 and resp.json()["code"] == "four_eyes"
    elsewhere = make_staff("center_manager", "EW-BUSAN-SAHA")
    assert api_for(elsewhere).post(f"/api/v1/imports/{batch.pk}/approve/").status_code == 404
    assert api_for(elsewhere).get(f"/api/v1/imports/{batch.pk}/").status_code == 404
    resp = api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    assert resp.status_code == 200 and resp.json()["status"] == "approved"
    again = api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_an_invalid_batch_cannot_be_approved(upload, api_for, lg_manager):
    batch = _batch(upload(_csv([_row(1, phone="x")])))
    resp = api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    assert resp.status_code == 409
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.INVALID


def test_ministry_and_admin_have_no_import_batches(upload, api_for, ministry_user, admin_user_staff):
    batch = _batch(upload(_csv([_row(1)])))
    for user in (ministry_user, admin_user_staff):
        assert api_for(user).get(f"/api/v1/imports/{batch.pk}/").status_code == 403
        assert api_for(user).post("/api/v1/imports/", {"rows": [_row(1)]}, format="json").status_code == 403


# --- Applying (eagerly here; referral/tests/test_import_worker.py runs a real worker) -----------------------


def test_approval_applies_the_batch_through_the_intake_and_referral_services(
    upload, api_for, partner, lg_manager, django_capture_on_commit_callbacks
):
    known = services.client_register(
        user=partner,
        facts=client_facts_parse({"name": "김발굴", "birth_date": _row(2)["birth_date"], "phone": _row(2)["phone"]}),
    )
    day = timezone.localdate() - dt.timedelta(days=10)
    batch = _batch(upload(_csv([_row(1, consent_date=day.isoformat()), _row(2), _row(3, consent_method="electronic")])))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    assert callbacks, "the apply task was not enqueued on commit"
    # The routing tasks the apply enqueued ran too (eager), so every referral is at a desk.
    batch.refresh_from_db()
    assert batch.status == "applied", batch.failure
    assert Client.objects.filter(center__code=LG).count() == 3  # the known client linked, not duplicated
    rows = {r.number: r for r in batch.rows.select_related("client", "case")}
    assert rows[3].client_id == known.pk and rows[3].matched_client_id == known.pk
    first = rows[2].client
    consents = {c.purpose: c for c in first.consents.all()}
    assert set(consents) == {"collection", "referral"}
    assert consents["referral"].organization_kinds == ["microfinance", "local_government"]
    assert timezone.localtime(consents["referral"].given_at).date() == day
    assert consents["referral"].method == "paper"
    assert rows[4].client.consents.first().method == "electronic"
    assert rows[2].case.channel == "partner" and rows[2].case.counselor_id == partner.pk
    assert sorted(rows[2].case.needs.values_list("code", flat=True)) == ["credit_counseling", "debt_adjustment"]
    referrals = Referral.objects.filter(pk__in=[r.referral_id for r in rows.values()]).select_related("to_desk")
    assert len(referrals) == 3
    assert all(r.to_desk is not None and r.to_desk.operator_kind == "microfinance" for r in referrals)
    report = api_for(partner).get(f"/api/v1/imports/{batch.pk}/").json()["report"]
    assert [(r["row"], r["matched"]) for r in report] == [(2, False), (3, True), (4, False)]
    assert {r["referral"] for r in report} == {r.pk for r in referrals}


def test_a_batch_that_no_longer_holds_when_applied_fails_whole_and_creates_nothing(
    upload, api_for, lg_manager, django_capture_on_commit_callbacks
):
    from centers.models import Desk

    batch = _batch(upload(_csv([_row(1), _row(2, service="job_placement", consent_kinds="employment_welfare")])))
    assert batch.status == "ready"
    # Between the check and the approval the employment desks close: row 3 can no longer be referred.
    Desk.objects.filter(operator_kind="employment_welfare").update(active=False)
    with django_capture_on_commit_callbacks(execute=True):
        api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    batch.refresh_from_db()
    assert batch.status == "failed"
    assert batch.failure.startswith("3행:")
    assert not Client.objects.filter(center__code=LG).exists()
    assert not Referral.objects.exists()


def test_applying_twice_creates_nothing_more(upload, api_for, lg_manager, django_capture_on_commit_callbacks):
    from referral.imports import import_batch_apply

    batch = _batch(upload(_csv([_row(1)])))
    with django_capture_on_commit_callbacks(execute=True):
        api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    assert import_batch_apply(batch_id=batch.pk) is None
    assert Referral.objects.count() == 1 and Client.objects.filter(center__code=LG).count() == 1


def test_the_report_escapes_cells_a_spreadsheet_would_run():
    assert imports.spreadsheet_safe("=1+1") == "'=1+1"
    assert imports.spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert imports.spreadsheet_safe("+82") == "'+82"
    assert imports.spreadsheet_safe("-3") == "'-3"
    assert imports.spreadsheet_safe("관악 창구") == "관악 창구"


def test_downloading_the_report_asks_why_and_records_a_download_per_client(
    client, upload, api_for, partner, lg_manager, django_capture_on_commit_callbacks
):
    from cases.models import PiiAccessLog

    batch = _batch(upload(_csv([_row(1), _row(2)])))
    with django_capture_on_commit_callbacks(execute=True):
        api_for(lg_manager).post(f"/api/v1/imports/{batch.pk}/approve/")
    batch.refresh_from_db()
    clients = set(batch.rows.values_list("client_id", flat=True))
    # Applying wrote one "create" access record per client it registered, in the batch's name.
    created = PiiAccessLog.objects.filter(action="create", view="import:apply")
    assert set(created.values_list("client_id", flat=True)) == clients
    assert set(created.values_list("reason", flat=True)) == {f"partner batch {batch.pk}"}
    client.force_login(partner)
    url = reverse("referral:import_report", args=[batch.pk])
    asked = client.get(url)
    # No reason yet: a page that asks for one, and nothing downloaded nor recorded.
    assert asked.status_code == 200 and asked["Content-Type"].startswith("text/html")
    assert 'name="reason"' in asked.content.decode()
    blank = client.get(url, {"reason": "   "})
    assert blank["Content-Type"].startswith("text/html") and 'role="alert"' in blank.content.decode()
    assert not PiiAccessLog.objects.filter(action="download").exists()
    got = client.get(url, {"reason": "구청에 연계 결과 회신"})
    assert got["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(got.content)).active
    assert [c.value for c in sheet[1]][:3] == ["행", "내담자 번호", "구분"] and sheet.max_row == 3
    downloads = PiiAccessLog.objects.filter(action="download", view="referral:import_report", user_id=partner.pk)
    assert set(downloads.values_list("client_id", flat=True)) == clients
    assert set(downloads.values_list("reason", flat=True)) == {"구청에 연계 결과 회신"}


def test_the_progress_bar_falls_back_to_the_batch_row_when_the_cache_has_nothing(upload, monkeypatch):
    from django.core.cache import cache

    batch = _batch(upload(_csv([_row(1), _row(2), _row(3), _row(4)])))
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.APPLYING, processed_rows=0)
    batch.refresh_from_db()
    cache.set(imports.import_progress_key(batch.pk), 3)
    assert imports.import_progress(batch) == 75
    # Redis unreachable from the page's process: the row's own count (0 from the claim to the commit).
    cache.delete(imports.import_progress_key(batch.pk))
    assert imports.import_progress(batch) == 0
    batch.processed_rows = 2
    assert imports.import_progress(batch) == 50
