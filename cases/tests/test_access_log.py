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
