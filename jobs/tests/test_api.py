from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from jobs import services
from jobs.models import Employer, JobExportLog, JobPosting
from jobs.tests.factories import OTHER_BIZNO, make_flagged_posting, make_posting

pytestmark = pytest.mark.django_db

BODY = {
    "title": "주방 보조 모집",
    "content": "주 5일 근무, 식사 제공. 통장 사본 먼저 보내주세요.",
    "employer": {"business_number": "220-81-62517", "name": "맛있는식당"},
    "wage_type": "monthly",
    "wage": 2_000_000,
    "hours_per_week": "40",
    "region": "서울 관악구",
}


def test_admin_creates_a_posting_and_gets_its_risk(api_for, admin_user_staff):
    resp = api_for(admin_user_staff).post("/api/v1/jobs/postings/", BODY, format="json")
    assert resp.status_code == 201, resp.content
    data = resp.json()
    assert data["employer"]["business_number"] == "220-81-62517" and data["employer"]["suspect"] is False
    assert data["hourly_equivalent"] == 9569
    assert data["risk"]["level"] == "high"
    rules = {f["rule"] for f in data["risk"]["findings"]}
    assert {"below_minimum_wage", "identity_harvest"} <= rules
    assert all({"rule", "basis", "quote"} <= set(f) for f in data["risk"]["findings"])
    assert data["review"] is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"employer": {"business_number": "220-81-62518"}}, "employer"),
        ({"wage": 0}, "wage"),
        ({"wage": 10**12}, "wage"),
        ({"wage_type": "hourly", "wage": 5_000_000}, "wage"),
        ({"content": "가" * 20_001}, "content"),
        ({"wage_type": "weekly"}, "wage_type"),
    ],
)
def test_bad_postings_get_a_400_naming_the_field(api_for, admin_user_staff, change, field):
    resp = api_for(admin_user_staff).post("/api/v1/jobs/postings/", {**BODY, **change}, format="json")
    assert resp.status_code == 400
    assert field in resp.json()
    assert JobPosting.objects.count() == 0


def test_only_the_administrator_creates_or_imports(api_for, counselor, ministry_user):
    for user in (counselor, ministry_user):
        assert api_for(user).post("/api/v1/jobs/postings/", BODY, format="json").status_code == 403
    assert api_for(None).post("/api/v1/jobs/postings/", BODY, format="json").status_code == 401


def test_list_filters_and_detail_shape(api_for, admin_user_staff, counselor):
    ok = make_posting(admin_user_staff)
    bad = make_flagged_posting(admin_user_staff)
    api = api_for(counselor)
    ids = lambda q: [r["id"] for r in api.get("/api/v1/jobs/postings/", q).json()["results"]]  # noqa: E731
    assert ids({"risk": "high"}) == [bad.pk]
    assert ids({"risk": "low"}) == [ok.pk]
    assert set(ids({"review": "pending"})) == {ok.pk, bad.pk}
    assert api.get("/api/v1/jobs/postings/", {"risk": "extreme"}).status_code == 400
    detail = api.get(f"/api/v1/jobs/postings/{bad.pk}/").json()
    assert set(detail) >= {"id", "source", "external_id", "title", "employer", "wage_type", "wage"}
    assert set(detail) >= {"hourly_equivalent", "risk", "review"}


def test_a_ministry_review_marks_the_employer_suspect_and_counselors_cannot_review(
    api_for, admin_user_staff, ministry_user, counselor
):
    bad = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name="수상한상사")
    body = {"decision": "false_ad", "reason": "통장 사본 요구"}
    assert api_for(counselor).post(f"/api/v1/jobs/postings/{bad.pk}/review/", body, format="json").status_code == 403
    resp = api_for(ministry_user).post(f"/api/v1/jobs/postings/{bad.pk}/review/", body, format="json")
    assert resp.status_code == 200
    assert resp.json()["review"]["decision"] == "false_ad" and resp.json()["employer"]["suspect"] is True
    assert (
        api_for(ministry_user)
        .post(f"/api/v1/jobs/postings/{bad.pk}/review/", {"decision": "maybe", "reason": "x"}, format="json")
        .status_code
        == 400
    )
    # Counselors report; reviewers do not.
    report = {"reason": "교육비 요구", "complaint": "면접 전에 돈을 보내라고 했습니다"}
    assert api_for(counselor).post(f"/api/v1/jobs/postings/{bad.pk}/report/", report, format="json").status_code == 201
    assert (
        api_for(ministry_user).post(f"/api/v1/jobs/postings/{bad.pk}/report/", report, format="json").status_code == 403
    )


def test_suspects_list_and_export_with_reason_recorded_and_formulas_escaped(api_for, admin_user_staff, ministry_user):
    bad = make_flagged_posting(admin_user_staff, business_number=OTHER_BIZNO, employer_name='=HYPERLINK("x")')
    services.posting_review(posting_id=bad.pk, by=ministry_user, decision="harmful", reason="-1+1 수상")
    api = api_for(ministry_user)
    data = api.get("/api/v1/jobs/suspects/").json()
    assert data["count"] == 1 and data["results"][0]["business_number"] == "124-81-00998"
    missing = api.get("/api/v1/jobs/suspects/", {"format": "xlsx"})
    assert missing.status_code == 400 and "reason" in missing.json()
    assert JobExportLog.objects.count() == 0
    resp = api.get("/api/v1/jobs/suspects/", {"format": "xlsx", "reason": "2026 상반기 합동점검"})
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(resp.content)).active
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert '\'=HYPERLINK("x")' in values and "'-1+1 수상" in values
    log = JobExportLog.objects.get()
    assert log.by == ministry_user and log.rows == 1 and log.reason == "2026 상반기 합동점검"


def test_center_staff_cannot_see_the_suspect_list(api_for, counselor):
    assert api_for(counselor).get("/api/v1/jobs/suspects/").status_code == 403


def test_screen_answers_risk_and_stores_nothing(api_for, counselor):
    resp = api_for(counselor).post(
        "/api/v1/jobs/screen/",
        {
            "title": "고액 알바",
            "content": "스.웨.디.시 마사지 100% 건전, 숙식제공 당일지급",
            "wage_type": "daily",
            "wage": 500000,
        },
        format="json",
    )
    assert resp.status_code == 200
    risk = resp.json()["risk"]
    assert risk["level"] == "high" and risk["score"] > 60
    sex = [f for f in risk["findings"] if f["rule"] == "sex_trade"]
    assert any(f["quote"] == "스.웨.디.시" for f in sex)
    assert JobPosting.objects.count() == 0 and Employer.objects.count() == 0
    assert api_for(counselor).post("/api/v1/jobs/screen/", {"content": "x"}, format="json").status_code == 400


def test_import_endpoint_answers_created_updated_failed_and_400_for_a_bomb(api_for, admin_user_staff):
    from pathlib import Path

    from django.core.files.uploadedfile import SimpleUploadedFile

    data = Path(__file__).parent / "data"
    api = api_for(admin_user_staff)
    up = SimpleUploadedFile("list.xml", (data / "work24_list.xml").read_bytes(), content_type="application/xml")
    resp = api.post("/api/v1/jobs/postings/import/", {"file": up}, format="multipart")
    assert resp.status_code == 200, resp.content
    assert resp.json()["created"] == 3 and resp.json()["updated"] == 0 and len(resp.json()["failed"]) == 2
    bomb = SimpleUploadedFile("b.xml", (data / "xml_bomb.xml").read_bytes(), content_type="application/xml")
    resp = api.post("/api/v1/jobs/postings/import/", {"file": bomb}, format="multipart")
    assert resp.status_code == 400 and "DTD" in resp.json()["detail"]
    work24 = api.get("/api/v1/jobs/postings/", {"risk": "low"}).json()["results"][0]
    assert work24["credit"].startswith("본 자료는 고용노동부 고용24")


@pytest.mark.parametrize("action", ["review", "report", ""])
def test_a_posting_id_that_is_not_a_number_is_404_not_500(ministry_user, api_for, action):
    path = f"/api/v1/jobs/postings/null,null/{action + '/' if action else ''}"
    resp = (
        api_for(ministry_user).post(path, {"reason": "x"}, format="json")
        if action
        else api_for(ministry_user).get(path)
    )
    assert resp.status_code == 404
    assert resp.json()["detail"]
