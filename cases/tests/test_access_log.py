"""The access log is append-only in the database and tamper-evident (safeguard notice §8③)."""

import datetime as dt

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from cases import access_log
from cases.models import AccessAction, PiiAccessLog
from cases.services import pii_access_log_purge, pii_access_log_write
from cases.tests.factories import make_client

pytestmark = pytest.mark.django_db


def _write(user, client, n=3, action=AccessAction.READ):
    for i in range(n):
        pii_access_log_write(user=user, clients=[client], view=f"test:{i}", ip_address="10.0.0.1", action=action)


def test_rows_are_chained_in_order_and_verify(counselor):
    client = make_client(counselor)
    _write(counselor, client, 4)
    rows = list(PiiAccessLog.objects.order_by("seq"))
    assert [r.seq for r in rows] == list(range(rows[0].seq, rows[0].seq + len(rows)))
    assert all(b.prev_hash == a.row_hash for a, b in zip(rows, rows[1:], strict=False))
    assert access_log.verify().ok


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")
def test_the_database_refuses_update_and_delete_of_a_log_row(counselor):
    client = make_client(counselor)
    _write(counselor, client, 1)
    row = PiiAccessLog.objects.order_by("-seq").first()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PiiAccessLog.objects.filter(pk=row.pk).update(view="forged")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        PiiAccessLog.objects.filter(pk=row.pk).delete()
    assert PiiAccessLog.objects.get(pk=row.pk).view == "test:0"


def _forge(sql: str, params: list) -> None:
    """What an intruder with database access would do: switch the trigger off and edit a row."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET session_replication_role = replica")  # a superuser: triggers off
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("SET session_replication_role = origin")


@pytest.mark.parametrize(
    "column,value",
    [("view", "test:X"), ("client_id", 999999), ("action", "print"), ("ip_address", "10.0.0.2")],
)
def test_changing_one_stored_value_makes_the_verifier_name_that_row(counselor, column, value):
    client = make_client(counselor)
    _write(counselor, client, 5)
    target = PiiAccessLog.objects.order_by("seq")[2]
    _forge(f"UPDATE cases_piiaccesslog SET {column} = %s WHERE id = %s", [value, target.pk])  # noqa: S608
    verdict = access_log.verify()
    assert not verdict.ok and verdict.first_bad == target.seq and verdict.first_bad_id == target.pk
    with pytest.raises(CommandError, match=f"seq {target.seq}"):
        call_command("verify_access_log")


def test_a_deleted_middle_row_is_detected_at_the_next_row(counselor):
    client = make_client(counselor)
    _write(counselor, client, 5)
    rows = list(PiiAccessLog.objects.order_by("seq"))
    _forge("DELETE FROM cases_piiaccesslog WHERE id = %s", [rows[2].pk])
    assert access_log.verify().first_bad == rows[3].seq


def test_a_forged_row_with_a_recomputed_unkeyed_hash_is_detected(counselor):
    import hashlib

    client = make_client(counselor)
    _write(counselor, client, 2)
    last = PiiAccessLog.objects.order_by("-seq").first()
    fake = hashlib.sha256(b"whatever an intruder computes without the key").hexdigest()
    _forge("UPDATE cases_piiaccesslog SET view = %s, row_hash = %s WHERE id = %s", ["test:hidden", fake, last.pk])
    assert access_log.verify().first_bad == last.seq


def test_the_retention_purge_is_the_one_delete_allowed_and_the_rest_still_verifies(counselor, settings):
    settings.PII_ACCESS_LOG_RETENTION_DAYS = 730
    client = make_client(counselor)
    _write(counselor, client, 3)
    later = timezone.now() + dt.timedelta(days=731)
    old_rows = PiiAccessLog.objects.count()
    import time_machine

    with time_machine.travel(later):
        _write(counselor, client, 2, action=AccessAction.DOWNLOAD)
        assert pii_access_log_purge() == old_rows
    assert list(PiiAccessLog.objects.values_list("action", flat=True)) == ["download", "download"]
    assert access_log.verify().ok
    call_command("verify_access_log")


def test_every_write_of_a_persons_data_is_recorded_once_per_request_with_the_screen_and_address(counselor):
    """Safeguard notice §8①: 입력·변경 are access records too, named by the screen or endpoint that wrote."""
    from django.urls import resolve
    from rest_framework.test import APIClient

    api = APIClient(REMOTE_ADDR="10.9.8.7")
    api.force_authenticate(counselor)

    def written(path: str, body: dict, status: int = 201) -> list[tuple[str, int, str | None]]:
        before = PiiAccessLog.objects.count()
        response = api.post(path, body, format="json")
        assert response.status_code == status, response.content
        rows = PiiAccessLog.objects.order_by("seq")[before:]
        assert {r.view for r in rows} == {resolve(path).view_name}
        return [(r.action, r.client_id, r.ip_address) for r in rows]

    client = api.post("/api/v1/clients/", {"name": "기록대상", "birth_date": "1980-01-02", "phone": "010-3100-4641"})
    pk = client.json()["id"]
    row = PiiAccessLog.objects.order_by("-seq").first()
    assert (row.action, row.client_id, row.ip_address, row.view) == ("create", pk, "10.9.8.7", "client-list")
    consent = {"purpose": "referral", "organization_kinds": ["microfinance"], "method": "paper"}
    before = PiiAccessLog.objects.count()
    consent_id = api.post(f"/api/v1/clients/{pk}/consents/", consent, format="json").json()["id"]
    assert [(r.action, r.client_id) for r in PiiAccessLog.objects.order_by("seq")[before:]] == [("create", pk)]
    case = api.post("/api/v1/cases/", {"client": pk, "channel": "walk_in"}, format="json").json()
    assert written(f"/api/v1/cases/{case['id']}/notes/", {"text": "상담 메모"}) == [("create", pk, "10.9.8.7")]
    assert written(f"/api/v1/cases/{case['id']}/close/", {"result": "resolved"}, 200) == [("update", pk, "10.9.8.7")]
    assert written(f"/api/v1/consents/{consent_id}/withdraw/", {}, 200) == [("update", pk, "10.9.8.7")]
    assert access_log.verify().ok


def test_an_intake_is_one_entry_of_the_client_and_a_refused_write_records_nothing(counselor, mf_counselor):
    from rest_framework.test import APIClient

    from cases.tests.factories import make_case

    case = make_case(counselor)
    before = PiiAccessLog.objects.count()
    api = APIClient()
    api.force_authenticate(mf_counselor)  # another center: the case is not there
    assert api.post(f"/api/v1/cases/{case.pk}/notes/", {"text": "남의 메모"}, format="json").status_code == 404
    assert PiiAccessLog.objects.count() == before
    # The intake page (client, two consents and a case in one request) is one "create" of that client.
    from django.test import Client as PageClient
    from django.urls import reverse

    page = PageClient(REMOTE_ADDR="10.9.8.6")
    page.force_login(counselor)
    response = page.post(
        reverse("cases:intake"),
        {
            "name": "한번기록", "birth_date": "1979-03-04", "phone": "010-3100-4642", "collection_consent": "on",
            "referral_kinds": ["microfinance"], "consent_method": "paper", "channel": "walk_in",
            "income_band": "unknown", "employment_status": "unknown", "debt_status": "unknown",
            "needs": ["job_search"],
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    rows = PiiAccessLog.objects.order_by("seq")[before:]
    assert [(r.action, r.view, r.ip_address) for r in rows] == [("create", "cases:intake", "10.9.8.6")]
