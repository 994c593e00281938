"""The privacy officer's access records, review, ledger and permission history, through the API and the pages
(API.md "Privacy", safeguard notice §5③ and §8), on PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.urls import reverse

from cases import access_log
from cases.models import PiiAccessLog
from cases.services import pii_access_log_write
from cases.tests.factories import make_client
from centers.services import staff_create_or_update
from privacy.access_review import review_compute

pytestmark = pytest.mark.django_db
SEOUL = dt.timezone(dt.timedelta(hours=9))


def _log(user: Any, client_id: int, at: dt.datetime, action: str = "read", view: str = "cases:client_detail") -> None:
    access_log.append(
        [access_log.Entry(user_id=user.pk, client_id=client_id, action=action, view=view, ip_address="10.1.2.3")],
        at=at,
    )


def _csv(response: Any) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_officer_filters_the_access_records_and_no_one_else_reads_them(counselor, manager, officer, api_for):
    a, b = make_client(counselor), make_client(counselor)
    _log(counselor, a.pk, dt.datetime(2026, 10, 5, 10, 0, tzinfo=SEOUL))
    _log(counselor, b.pk, dt.datetime(2026, 10, 6, 23, 30, tzinfo=SEOUL), action="download")
    _log(manager, a.pk, dt.datetime(2026, 10, 7, 0, 30, tzinfo=SEOUL), action="print", view="referral:slip")
    api = api_for(officer)

    def seqs(**query: str) -> list[int]:
        response = api.get("/api/v1/privacy/access-log/", query)
        assert response.status_code == 200, response.content
        return [r["seq"] for r in response.json()["results"]]

    everything = seqs()
    assert everything == sorted(everything, reverse=True) and len(everything) == PiiAccessLog.objects.count()
    first = api.get("/api/v1/privacy/access-log/", {"client": str(a.pk), "user": "ew_manager"}).json()["results"]
    assert first == [
        {
            "seq": first[0]["seq"],
            "at": "2026-10-07T00:30:00+09:00",
            "user": "ew_manager",
            "client": a.pk,
            "action": "print",
            "where": "referral:slip",
            "address": "10.1.2.3",
            "reason": "",
        }
    ]
    assert len(seqs(action="download")) == 1
    # Days are Seoul days, both ends included: 23:30 of the 6th is the 6th, 00:30 of the 7th the 7th.
    assert len(seqs(**{"from": "2026-10-06", "to": "2026-10-06"})) == 1
    assert len(seqs(**{"from": "2026-10-05", "to": "2026-10-07"})) == 3
    for query, field in (
        ({"client": "abc"}, "client"),
        ({"action": "peek"}, "action"),
        ({"from": "2026-13-01"}, "from"),
        ({"from": "2026-10-07", "to": "2026-10-01"}, "from"),
        ({"user": "x" * 151}, "user"),
    ):
        response = api.get("/api/v1/privacy/access-log/", query)
        assert response.status_code == 400 and field in response.json(), (query, response.content)
    for other in (counselor, manager):
        assert api_for(other).get("/api/v1/privacy/access-log/").status_code == 403
        assert api_for(other).get("/api/v1/privacy/access-log/verify/").status_code == 403


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the forgery switches PostgreSQL's trigger off")
def test_the_verify_endpoint_names_the_first_row_someone_changed_in_the_database(counselor, officer, api_for):
    client = make_client(counselor)
    for _ in range(4):
        pii_access_log_write(user=counselor, clients=[client], view="cases:client_detail", ip_address=None)
    api = api_for(officer)
    kept = PiiAccessLog.objects.count()
    assert api.get("/api/v1/privacy/access-log/verify/").json() == {"ok": True, "rows": kept, "first_bad": None}
    target = PiiAccessLog.objects.order_by("seq")[1]
    with connection.cursor() as cur:
        cur.execute("SET session_replication_role = replica")
        cur.execute("UPDATE cases_piiaccesslog SET client_id = client_id + 1 WHERE id = %s", [target.pk])
        cur.execute("SET session_replication_role = origin")
    verdict = api.get("/api/v1/privacy/access-log/verify/").json()
    assert verdict["ok"] is False and verdict["first_bad"] == target.seq


def test_the_export_asks_why_and_records_a_download_per_client_with_that_reason(counselor, officer, api_for):
    a, b = make_client(counselor), make_client(counselor)
    _log(counselor, a.pk, dt.datetime(2026, 10, 5, 10, 0, tzinfo=SEOUL), view='=HYPERLINK("http://x")')
    _log(counselor, b.pk, dt.datetime(2026, 10, 5, 11, 0, tzinfo=SEOUL))
    api = api_for(officer)
    before = PiiAccessLog.objects.count()
    for reason in (None, "", "   ", "x" * 501):
        response = api.get("/api/v1/privacy/access-log/export/", {} if reason is None else {"reason": reason})
        assert response.status_code == 400 and "reason" in response.json(), reason
    assert PiiAccessLog.objects.count() == before  # a refused export records nothing
    export_query = {"reason": "10월 정기 점검", "from": "2026-10-05", "to": "2026-10-05"}
    response = api.get("/api/v1/privacy/access-log/export/", export_query)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert rows[0][:5] == ["순번", "일시", "사용자", "내담자 번호", "행위"]
    assert sorted(int(r[3]) for r in rows[1:]) == sorted([a.pk, b.pk])
    assert {r[4] for r in rows[1:]} == {"조회"}
    # A cell a spreadsheet would run is written as text.
    assert '\'=HYPERLINK("http://x")' in [r[5] for r in rows[1:]]
    downloads = PiiAccessLog.objects.filter(action="download", user=officer)
    assert sorted(downloads.values_list("client_id", flat=True)) == sorted([a.pk, b.pk])
    assert set(downloads.values_list("reason", flat=True)) == {"10월 정기 점검"}
    assert access_log.verify().ok


def test_the_review_api_reads_a_months_flags_and_signs_it_off_once(counselor, officer, api_for):
    client = make_client(counselor)
    _log(counselor, client.pk, dt.datetime(2026, 10, 17, 22, 0, tzinfo=SEOUL))
    review_compute(month=dt.date(2026, 10, 1))
    api = api_for(officer)
    with time_machine.travel(dt.datetime(2026, 11, 3, 9, 0, tzinfo=SEOUL)):
        month = api.get("/api/v1/privacy/reviews/", {"month": "2026-10"}).json()
        assert month["month"] == "2026-10" and month["sign_off"] is None
        assert [(f["kind"], f["user"], f["rows"]) for f in month["flags"]] == [("off_hours", "ew_counselor", 1)]
        # Without ?month= it is last month's.
        assert api.get("/api/v1/privacy/reviews/").json()["month"] == "2026-10"
        assert api.get("/api/v1/privacy/reviews/", {"month": "October"}).status_code == 400
        assert api.post("/api/v1/privacy/reviews/2026-11/sign/", {"note": "x"}, format="json").status_code == 400
        assert api_for(counselor).post("/api/v1/privacy/reviews/2026-10/sign/", {}, format="json").status_code == 403
        signed = api.post("/api/v1/privacy/reviews/2026-10/sign/", {"note": "야간 조회 1건 확인"}, format="json")
        assert signed.status_code == 200, signed.content
        assert signed.json()["sign_off"]["by"] == "privacy_officer"
        assert signed.json()["sign_off"]["note"] == "야간 조회 1건 확인"
        again = api.post("/api/v1/privacy/reviews/2026-10/sign/", {"note": "다시"}, format="json")
        assert again.status_code == 409
        assert (
            api.get("/api/v1/privacy/reviews/", {"month": "2026-10"}).json()["sign_off"]["note"] == "야간 조회 1건 확인"
        )


def test_the_permission_history_api_lists_every_change_for_admins_and_the_officer(
    directory, officer, counselor, make_staff, api_for
):
    user, _created = staff_create_or_update(
        username="moved_staff", password="Str0ng-pass-phrase!", role="counselor", center_code="EW-SEOUL-GWANAK"
    )
    staff_create_or_update(
        username="moved_staff", password="Str0ng-pass-phrase!", role="center_manager", center_code="EW-SEOUL-GWANAK"
    )
    history = api_for(officer).get(f"/api/v1/staff/{user.pk}/permission-history/")
    assert history.status_code == 200
    changes = [(r["field"], r["before"], r["after"]) for r in history.json()["results"]]
    assert ("role", "counselor", "center_manager") in changes and ("role", "", "counselor") in changes
    assert all(r["staff"] == "moved_staff" for r in history.json()["results"])
    admin = make_staff("admin", None, username="history_admin")
    assert api_for(admin).get(f"/api/v1/staff/{user.pk}/permission-history/").status_code == 200
    assert api_for(counselor).get(f"/api/v1/staff/{user.pk}/permission-history/").status_code == 403
    assert api_for(officer).get("/api/v1/staff/99999999/permission-history/").status_code == 404
    assert api_for(officer).get("/api/v1/staff/abc/permission-history/").status_code == 404


def test_the_access_log_page_filters_verifies_and_exports_with_a_reason(counselor, officer, client):
    target = make_client(counselor)
    _log(counselor, target.pk, dt.datetime(2026, 10, 5, 10, 0, tzinfo=SEOUL))
    client.force_login(officer)
    page = client.get(reverse("retention:access_log"), {"client": target.pk})
    html = page.content.decode()
    assert page.status_code == 200 and "ew_counselor" in html and "조회" in html
    assert target.name not in html  # the officer sees whose number, never the person's name
    bad = client.get(reverse("retention:access_log"), {"from": "어제"})
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.content.decode()
    verified = client.get(reverse("retention:access_log_verify")).content.decode()
    assert 'data-testid="chain-ok"' in verified
    no_reason = client.post(reverse("retention:access_log_export"), {"client": target.pk, "reason": ""})
    assert no_reason.status_code == 302 and f"client={target.pk}" in no_reason["Location"]
    assert not PiiAccessLog.objects.filter(action="download").exists()
    export = client.post(
        reverse("retention:access_log_export"), {"client": target.pk, "action": "read", "reason": "민원 확인"}
    )
    assert export.status_code == 200 and [int(r[3]) for r in _csv(export)[1:]] == [target.pk]
    assert PiiAccessLog.objects.filter(action="download", user=officer, reason="민원 확인").count() == 1


def test_the_destruction_ledger_api_lists_batches_with_what_each_destroyed(officer, counselor, api_for):
    from django.utils import timezone

    from privacy.retention_models import DestructionBatch, DestructionRecord

    done = DestructionBatch.objects.create(proposed_at=timezone.now(), status="destroyed", destroyed_at=timezone.now())
    DestructionRecord.objects.create(
        at=timezone.now(), batch=done, record_type="case_notes", clients=2, rows=5, ground="retention_ended",
        method="deleted", ran_by="worker@test",
    )  # fmt: skip
    waiting = DestructionBatch.objects.create(proposed_at=timezone.now())
    listed = api_for(officer).get("/api/v1/privacy/destructions/")
    assert listed.status_code == 200
    results = listed.json()["results"]
    assert [b["id"] for b in results] == [waiting.pk, done.pk]
    assert results[0]["status"] == "proposed" and results[0]["records"] == []
    assert [(r["record_type"], r["clients"], r["rows"]) for r in results[1]["records"]] == [("case_notes", 2, 5)]
    assert api_for(counselor).get("/api/v1/privacy/destructions/").status_code == 403
