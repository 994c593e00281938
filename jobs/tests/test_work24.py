from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core.errors import InvalidInput
from jobs import services, work24
from jobs.models import JobPosting, Source

DATA = Path(__file__).parent / "data"


def read(name: str) -> bytes:
    return (DATA / name).read_bytes()


def test_the_list_fixture_carries_every_quirk():
    raw = read("work24_list.xml")
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"<regDt>26-03-30</regDt>" in raw and b"&amp;lt;" in raw and "채용시까지  26-04-17".encode() in raw


def test_list_answer_parses_two_digit_years_until_filled_and_double_escaped_entities():
    kind, items = work24.parse_xml(read("work24_list.xml"))
    assert kind == "list"
    by_id = {i.label: i for i in items}
    first = by_id["K151612603300001"].data
    assert first is not None
    assert first.posted_on == dt.date(2026, 3, 30) and first.closes_on == dt.date(2026, 4, 29)
    assert first.wage_type == "monthly" and first.wage == 2_300_000 and first.business_number == "2208162517"
    assert first.raw_payload.startswith("<wanted>")
    second = by_id["K151612603300002"].data
    assert second is not None
    assert second.title == "<급구> 시급 9,000원 전화상담원"
    assert second.employer_name == "고객센터 & 상담 아웃소싱"
    assert second.closes_on is None and second.closes_when_filled
    third = by_id["K151612603300003"].data
    assert third is not None
    assert third.closes_on == dt.date(2026, 4, 17) and third.closes_when_filled
    assert third.wage is None and third.wage_type == ""  # "회사내규에 따름": no figure to check
    assert by_id["4번째 항목"].data is None and "wantedAuthNo" in by_id["4번째 항목"].error


def test_detail_answer_brings_the_full_title_description_hours_and_contact():
    kind, items = work24.parse_xml(read("work24_detail.xml"))
    assert kind == "detail"
    data = items[0].data
    assert data is not None
    assert data.external_id == "K151612603300002"
    assert data.title.startswith("<급구> 시급 9,000원 전화상담원 (초보 가능")
    assert "교육비 20만원을 먼저 입금" in data.content and "\n" in data.content
    assert data.hours_per_week == 40 and data.contact == "051-200-1234"


@pytest.mark.django_db
def test_importing_list_then_detail_upserts_by_wanted_auth_no(admin_user_staff):
    report = services.postings_import(by=admin_user_staff, filename="list.xml", content=read("work24_list.xml"))
    assert (report.created, report.updated) == (3, 0)
    assert {f["item"] for f in report.failed} == {"4번째 항목", "K151612603300005"}
    assert any("검증번호" in f["message"] for f in report.failed)
    again = services.postings_import(by=admin_user_staff, filename="list.xml", content=read("work24_list.xml"))
    assert (again.created, again.updated) == (0, 3)
    detail = services.postings_import(by=admin_user_staff, filename="d.xml", content=read("work24_detail.xml"))
    assert (detail.created, detail.updated) == (0, 1)
    posting = JobPosting.objects.get(source=Source.WORK24, external_id="K151612603300002")
    assert posting.risk_level == "high"
    assert {"below_minimum_wage", "money_demand", "identity_harvest"} <= {f["rule"] for f in posting.findings}
    assert JobPosting.objects.count() == 3


@pytest.mark.django_db
def test_csv_upload_reports_bad_rows_and_keeps_good_ones(admin_user_staff):
    report = services.postings_import(by=admin_user_staff, filename="p.csv", content=read("postings.csv"))
    assert report.created == 2
    failed = {f["item"]: f["message"] for f in report.failed}
    assert set(failed) == {"UP-0003", "UP-0004"}
    assert "검증번호" in failed["UP-0003"] and "0" in failed["UP-0004"]
    bad = JobPosting.objects.get(external_id="UP-0002")
    assert bad.source == Source.UPLOAD and bad.risk_level == "high"
    # The same CSV saved by Korean Excel (CP949) reads the same.
    cp949 = read("postings.csv").decode("utf-8").encode("cp949")
    assert services.postings_import(by=admin_user_staff, filename="p.csv", content=cp949).updated == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (read("xml_bomb.xml"), "DTD"),
        (read("malformed.xml"), "올바른 형식의 XML"),
        ('<?xml version="1.0" encoding="UTF-8"?><wantedRoot><title>한글</title></wantedRoot>'.encode("cp949"), "UTF-8"),
        (b'<?xml version="1.0" encoding="x-nonsense"?><a/>', "알 수 없는 인코딩"),
        (b"<html><body>not work24</body></html>", "고용24 응답 XML이 아닙니다"),
        (b"\xff\xfe\x00garbage,\x81\x82", "UTF-8도 CP949"),
        (b"   ", "빈 파일"),
    ],
)
def test_unreadable_files_are_refused_whole_with_a_clear_message(content, message):
    with pytest.raises(InvalidInput) as exc:
        work24.parse_upload("upload", content)
    assert message in str(exc.value.detail)


def test_a_file_over_the_size_limit_is_refused_before_parsing(settings):
    settings.JOBS_IMPORT_MAX_BYTES = 1000
    with pytest.raises(InvalidInput, match="바이트보다 큽니다"):
        work24.parse_upload("big.xml", b"<wantedRoot>" + b" " * 2000 + b"</wantedRoot>")


def test_a_huge_posting_fails_alone():
    huge = "가" * 20_001
    body = "<wantedRoot><wanted><wantedAuthNo>K1</wantedAuthNo><title>t</title></wanted></wantedRoot>"
    detail = (
        f"<wantedDtl><wantedAuthNo>K2</wantedAuthNo><wantedInfo><wantedTitle>t</wantedTitle>"
        f"<jobCont>{huge}</jobCont></wantedInfo></wantedDtl>"
    )
    assert work24.parse_xml(body.encode())[1][0].data is not None
    item = work24.parse_xml(detail.encode())[1][0]
    assert item.data is None and "자를 넘습니다" in item.error


def test_without_a_key_the_import_is_disabled_with_a_clear_message(settings):
    settings.WORK24_API_KEY = ""
    with pytest.raises(work24.Work24Disabled, match="WORK24_API_KEY"):
        work24.fetch_list()


@pytest.mark.django_db
def test_the_scheduled_task_says_it_is_disabled_without_a_key(settings):
    from jobs.tasks import import_work24

    settings.WORK24_API_KEY = ""
    assert "WORK24_API_KEY" in import_work24()["disabled"]


@pytest.mark.django_db
def test_the_scheduled_import_fetches_list_and_details(settings, monkeypatch):
    settings.WORK24_API_KEY = "test-key"
    calls: list[dict] = []

    def fake_get(url, params):
        calls.append(params)
        return read("work24_list.xml") if params["callTp"] == "L" else read("work24_detail.xml")

    monkeypatch.setattr(work24, "_get", fake_get)
    report = services.work24_import_run(pages=3, details=5)
    assert report.created == 3
    assert calls[0]["authKey"] == "test-key" and calls[0]["regDate"] == "D-0"
    assert [c["callTp"] for c in calls].count("L") == 1  # total 4 < 100: one page is all
    posting = JobPosting.objects.get(external_id="K151612603300002")
    assert "교육비 20만원" in posting.content


def test_the_beat_schedule_runs_the_import_and_the_purge():
    from config.celery import BEAT_SCHEDULE

    tasks = {entry["task"] for entry in BEAT_SCHEDULE.values()}
    assert {"jobs.tasks.import_work24", "jobs.tasks.purge_raw_payloads"} <= tasks
