"""Retention and destruction on PostgreSQL: what is due, the batch, four eyes, destruction for good,
records kept under another law, the ledger, the statistics unchanged, withdrawal stopping processing."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import DatabaseError, connection, transaction
from django.forms.models import model_to_dict
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases import services as case_services
from cases.inputs import case_opening_parse, client_facts_parse
from cases.models import DESTROYED_NAME, Case, CaseNote, Client, Consent, ConsentPurpose, ImportBatch, ImportRow, Need
from cases.services import ProcessingStopped
from cases.tests.factories import valid_rrn
from core.errors import FourEyes, PermissionDenied
from privacy import destruction
from privacy.retention import coarse_birth_date
from privacy.retention_models import (
    BatchStatus,
    DestructionBatch,
    DestructionRecord,
    ItemStatus,
    KeepBasis,
    RecordType,
)
from referral import services as referral_services
from stats.definitions import SEOUL, age_band
from stats.models import MonthlyCell
from stats.services import stats_refresh_month
from stats.tests.history import build_history, history_strategy

pytestmark = pytest.mark.django_db

NAME, PHONE, NOTE, REF_NOTE = "파기대상홍길동", "010-8642-1357", "파기될상담메모ZQ", "파기될연계메모ZQ"
NEED_NOTE = f"{NOTE}욕구"
BIRTH, SERIAL = dt.date(1984, 6, 13), "97531"
KEPT_NAME, KEPT_PHONE, KEPT_NOTE = "보존대상김보존", "010-2468-9753", "보존될상담메모ZQ"


def _register(user: Any, *, name: str, phone: str, birth: dt.date, serial: str | None, note: str) -> Case:
    client = case_services.client_register(
        user=user,
        facts=client_facts_parse(
            {
                "name": name,
                "birth_date": birth,
                "phone": phone,
                "rrn": valid_rrn(birth, serial=serial) if serial else "",
            }
        ),
    )
    case_services.consent_record(user=user, client=client, purpose="collection", method="paper")
    case_services.consent_record(
        user=user, client=client, purpose="referral", method="paper", organization_kinds=["microfinance"]
    )
    case = case_services.case_open(
        user=user,
        client=client,
        opening=case_opening_parse(
            {
                "channel": "walk_in",
                "needs": [{"domain": "finance", "code": "debt_adjustment", "note": need_note(note)}],
                "note": note,
            }
        ),
    )
    if note:
        case_services.case_note_add(user=user, case=case, text=note)
    return case


def need_note(note: str) -> str:
    return f"{note}욕구" if note else ""


def _withdraw_collection(user: Any, client: Client) -> None:
    consent = Consent.objects.get(client=client, purpose=ConsentPurpose.COLLECTION)
    case_services.consent_withdraw(user=user, consent=consent)


def _destroy_all(officer: Any) -> DestructionBatch:
    batch = destruction.destruction_propose()
    assert batch is not None
    destruction.destruction_approve(user=officer, batch_id=batch.pk)
    assert destruction.destruction_run(batch_id=batch.pk, ran_by="test worker")
    batch.refresh_from_db()
    return batch


# --- the coarse birth date ---------------------------------------------------------------------------------


@given(born=st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2025, 12, 31)))
@settings(max_examples=300, deadline=None)
@pytest.mark.sqlite
def test_the_coarse_birth_date_gives_the_same_age_band_in_every_month_and_is_never_the_real_date(born):
    stand_in = coarse_birth_date(born)
    assert stand_in != born
    for year in range(born.year, born.year + 80):
        for month in range(1, 13):
            first = dt.date(year, month, 1)
            assert age_band(stand_in, first) == age_band(born, first), (born, stand_in, first)


# --- destroyed for good: nothing of the person is left in any table -----------------------------------------


def _scan(needles: list[str], birth: dt.date) -> list[tuple[str, str, str]]:
    """Every text, JSON and binary column of every table searched for each needle; date columns for the birth date."""
    hits = []
    with connection.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public' "
            "AND data_type IN ('text', 'character varying', 'bytea', 'json', 'jsonb', 'date')"
        )
        columns = cur.fetchall()
        assert len(columns) > 60
        for table, column, dtype in columns:
            if dtype == "date":
                cur.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}" = %s', [birth])  # noqa: S608
                if cur.fetchone()[0]:
                    hits.append((table, column, birth.isoformat()))
                continue
            expr = f'"{column}"' if dtype == "bytea" else f"convert_to(\"{column}\"::text, 'UTF8')"
            for needle in needles:
                cur.execute(
                    f"SELECT count(*) FROM \"{table}\" WHERE position(convert_to(%s, 'UTF8') in {expr}) > 0",  # noqa: S608
                    [needle],
                )
                if cur.fetchone()[0]:
                    hits.append((table, column, needle))
    return hits


def _needles(name: str, phone: str, birth: dt.date, serial: str | None, notes: list[str]) -> list[str]:
    out = [name, phone, phone.replace("-", ""), phone[-4:] + "", birth.isoformat(), birth.strftime("%Y%m%d")]
    out.append(birth.strftime("%y%m%d") + "-")  # the RRN's shown prefix "840613-1"
    if serial:
        rrn = valid_rrn(birth, serial=serial)
        out += [rrn, rrn.replace("-", ""), rrn.split("-")[1]]
    return out + notes


def test_after_destruction_no_name_phone_birth_date_rrn_or_note_of_the_destroyed_is_in_any_table(
    counselor, mf_counselor, officer, django_capture_on_commit_callbacks
):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    kept = _register(
        counselor, name=KEPT_NAME, phone=KEPT_PHONE, birth=dt.date(1979, 3, 21), serial="86420", note=KEPT_NOTE
    )
    with django_capture_on_commit_callbacks(execute=True):
        referral = referral_services.referral_create(
            by=counselor, case_id=case.pk, service_code="debt_adjustment", note=REF_NOTE
        )
    referral.refresh_from_db()
    assert referral.to_desk_id is not None
    # A partner list that named the person (the matched row keeps the cells as read).
    batch = ImportBatch.objects.create(
        center=case.center, uploaded_by=counselor, file_format="json", content_hash="x" * 64, status="applied"
    )
    ImportRow.objects.create(
        batch=batch,
        number=1,
        data={"name": NAME, "phone": PHONE, "birth_date": BIRTH.isoformat()},
        matched_client=case.client,
    )
    destruction.retention_hold_set(user=officer, client_id=kept.client_id, basis=KeepBasis.NATIONAL_BASIC_LIVING)
    needles = _needles(NAME, PHONE, BIRTH, SERIAL, [NOTE, NEED_NOTE, REF_NOTE])
    assert _scan(needles, BIRTH), "the scan must find the person before destruction"
    kept_needles = _needles(KEPT_NAME, KEPT_PHONE, dt.date(1979, 3, 21), "86420", [KEPT_NOTE])

    with django_capture_on_commit_callbacks(execute=True):
        _withdraw_collection(counselor, case.client)
        _withdraw_collection(counselor, kept.client)
    batch = _destroy_all(officer)

    assert batch.status == BatchStatus.DESTROYED
    assert _scan(needles, BIRTH) == []
    # The one kept under another law is all still there, and the batch says why.
    assert {(t, c) for t, c, _n in _scan(kept_needles, dt.date(1979, 3, 21))} >= {
        ("cases_client", "name"),
        ("cases_client", "phone"),
        ("cases_casenote", "text"),
    }
    skipped = batch.items.filter(client_id=kept.client_id)
    assert skipped and {i.status for i in skipped} == {ItemStatus.SKIPPED}
    assert {i.keep_basis for i in skipped} == {KeepBasis.NATIONAL_BASIC_LIVING}
    # What remains of the destroyed person is anonymised facts: the client row, its case and referral.
    client = Client.objects.get(pk=case.client_id)
    assert (client.name, client.phone, client.rrn_hash, client.rrn_ciphertext) == (DESTROYED_NAME, "", None, None)
    assert client.gender == "M" and Case.objects.filter(client=client).count() == 1
    assert not CaseNote.objects.filter(case__client=client).exists()
    assert not Consent.objects.filter(client=client).exists()
    assert Need.objects.get(case__client=client).code == "debt_adjustment"


def _pg_dump() -> str:
    """The whole test database as `pg_dump --data-only` writes it: what a backup taken now would hold."""
    db = connection.settings_dict
    env = {**os.environ, "PGPASSWORD": db.get("PASSWORD") or ""}
    argv = ["pg_dump", "--data-only", "--no-owner", "-h", db["HOST"] or "127.0.0.1", "-p", str(db["PORT"] or 5432)]
    argv += ["-U", db["USER"] or "postgres", db["NAME"]]
    return subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout


@pytest.mark.django_db(transaction=True)
def test_after_destruction_a_pg_dump_of_the_database_holds_nothing_of_the_destroyed(counselor, officer):
    """The same person, committed for real this time (the scan above reads inside the test's transaction): a
    backup taken after the batch holds none of the destroyed person's identity, as text or as bytea hex,
    while the person kept under another law is in it, so the dump is known to see the data."""
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    kept_birth = dt.date(1979, 3, 21)
    kept = _register(counselor, name=KEPT_NAME, phone=KEPT_PHONE, birth=kept_birth, serial="86420", note=KEPT_NOTE)
    referral = referral_services.referral_create(
        by=counselor, case_id=case.pk, service_code="debt_adjustment", note=REF_NOTE
    )
    referral_services.referral_route(referral_id=referral.pk)
    destruction.retention_hold_set(user=officer, client_id=kept.client_id, basis=KeepBasis.NATIONAL_BASIC_LIVING)

    def needles(name: str, phone: str, birth: dt.date, serial: str, notes: list[str]) -> list[str]:
        # The 4-digit tail of the phone is left out: any hash or number in a whole dump may hold four digits.
        words = [n for n in _needles(name, phone, birth, serial, notes) if len(n) > 4]
        return words + [w.encode().hex() for w in [name, *notes]]  # bytea columns are dumped as hex

    gone = needles(NAME, PHONE, BIRTH, SERIAL, [NOTE, NEED_NOTE, REF_NOTE])
    stays = needles(KEPT_NAME, KEPT_PHONE, kept_birth, "86420", [KEPT_NOTE])
    before = _pg_dump()
    assert [n for n in gone if n in before], "the dump must hold the person before destruction"

    _withdraw_collection(counselor, case.client)
    _withdraw_collection(counselor, kept.client)
    batch = destruction.destruction_propose()
    assert batch is not None
    # Committed for real, the approval's task runs as it would on the worker (eagerly in the tests).
    destruction.destruction_approve(user=officer, batch_id=batch.pk)
    batch.refresh_from_db()

    assert batch.status == BatchStatus.DESTROYED
    after = _pg_dump()
    assert [n for n in gone if n in after] == []
    assert {KEPT_NAME, KEPT_PHONE, KEPT_NOTE} <= {n for n in stays if n in after}


# --- the statistics are exactly what they were -------------------------------------------------------------

MONTHS = [dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1), dt.date(2026, 4, 1)]
# Birth dates on and next to the first of a month whose birthday moves the client into another age band.
EDGE_BIRTHS = [
    dt.date(2006, 2, 1),
    dt.date(2006, 2, 2),
    dt.date(1996, 3, 1),
    dt.date(1966, 1, 31),
    dt.date(1986, 2, 15),
    dt.date(1961, 3, 1),
    dt.date(2006, 1, 1),
    dt.date(1976, 2, 28),
]


def _cells() -> dict[tuple, dict[str, Any]]:
    out = {}
    for cell in MonthlyCell.objects.all():
        row = model_to_dict(cell)
        row.pop("id")
        key = tuple(row[k] for k in ("month", "gset", "center", "region", "kind", "desk", "service", "domain"))
        key += tuple(row[k] for k in ("channel", "age_band", "gender"))
        assert key not in out
        out[key] = row
    return out


@given(history=history_strategy)
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
def test_a_rebuild_after_destruction_gives_the_same_cells_in_every_month(directory, officer, history):
    sid = transaction.savepoint()
    try:
        build_history(history)
        clients = list(Client.objects.order_by("pk"))
        for i, client in enumerate(clients):
            Client.objects.filter(pk=client.pk).update(birth_date=EDGE_BIRTHS[i % len(EDGE_BIRTHS)])
            Consent.objects.create(
                client=client,
                purpose=ConsentPurpose.COLLECTION,
                method="paper",
                given_at=dt.datetime(2025, 12, 1, tzinfo=SEOUL),
                withdrawn_at=dt.datetime(2026, 4, 2, tzinfo=SEOUL),
                recorded_by=client.created_by,
            )
        as_of = dt.datetime(2026, 4, 20, 12, 0, tzinfo=SEOUL)
        for month in MONTHS:
            stats_refresh_month(month=month, as_of=as_of)
        before = _cells()
        batch = destruction.destruction_propose()
        if not clients:
            assert batch is None
            return
        assert batch is not None
        destruction.destruction_approve(user=officer, batch_id=batch.pk)
        assert destruction.destruction_run(batch_id=batch.pk, ran_by="test")
        assert set(Client.objects.values_list("name", flat=True)) == {DESTROYED_NAME}
        assert not Client.objects.filter(birth_date__in=EDGE_BIRTHS).exists()
        for month in MONTHS:
            stats_refresh_month(month=month, as_of=as_of)
        assert _cells() == before
    finally:
        transaction.savepoint_rollback(sid)


# --- what is due, when ------------------------------------------------------------------------------------


def _closed_case_client(counselor: Any, *, registered_at: dt.datetime, closed_at: dt.datetime, **kw: Any) -> Client:
    with time_machine.travel(registered_at, tick=False):
        case = _register(counselor, **kw)
    with time_machine.travel(closed_at, tick=False):
        case_services.case_close(user=counselor, case=case, result="resolved")
    return case.client


def test_each_record_type_is_due_its_years_after_the_last_closed_case_or_the_consents_end(counselor, settings):
    settings.RETENTION_YEARS = {"identity": 5, "rrn": 3, "case_notes": 5, "needs": 5, "consents": 5}
    now = dt.datetime(2026, 11, 20, 10, 0, tzinfo=SEOUL)
    # Case closed 4 years ago; the collection consent (3 years from its giving) lapsed a year ago: the later
    # of the two counts, so not even the RRN (3 years) is due.
    four = _closed_case_client(
        counselor, registered_at=now - dt.timedelta(days=4 * 365 + 30), closed_at=now - dt.timedelta(days=4 * 365),
        name="사년전", phone="010-1111-0004",
        birth=dt.date(1970, 1, 5), serial="11111", note="",
    )  # fmt: skip
    # Registered 9 years ago (consent lapsed 6 years ago), case closed 6 years ago: everything is due.
    six = _closed_case_client(
        counselor, registered_at=now - dt.timedelta(days=9 * 366), closed_at=now - dt.timedelta(days=6 * 366),
        name="육년전", phone="010-1111-0006",
        birth=dt.date(1971, 1, 5), serial="22222", note="메모",
    )  # fmt: skip
    with time_machine.travel(now - dt.timedelta(days=7 * 365), tick=False):
        still_open = _register(
            counselor, name="진행중", phone="010-1111-0007", birth=dt.date(1972, 1, 5), serial=None, note=""
        )
    with time_machine.travel(now, tick=False):
        batch = destruction.destruction_propose()
    assert batch is not None
    due = {(i.client_id, i.record_type) for i in batch.items.all()}
    assert (six.pk, RecordType.IDENTITY) in due and (six.pk, RecordType.CASE_NOTES) in due
    assert (six.pk, RecordType.RRN) in due
    assert not {t for c, t in due if c == four.pk}
    assert not {t for c, t in due if c == still_open.client_id}
    item = batch.items.get(client_id=six.pk, record_type=RecordType.IDENTITY)
    assert item.ground == "retention_ended" and item.rows == 1
    assert item.due_on <= now.date()


def test_one_open_proposal_at_a_time_and_proposing_again_returns_it(
    counselor, officer, django_capture_on_commit_callbacks
):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    with django_capture_on_commit_callbacks(execute=True):
        _withdraw_collection(counselor, case.client)
    first = destruction.open_batch()
    assert first is not None and first.status == BatchStatus.PROPOSED  # proposed at once on the withdrawal
    assert destruction.destruction_propose() == first
    assert DestructionBatch.objects.count() == 1
    with pytest.raises(DatabaseError), transaction.atomic():
        DestructionBatch.objects.create(proposed_at=timezone.now())
    destruction.destruction_approve(user=officer, batch_id=first.pk)
    destruction.destruction_run(batch_id=first.pk)
    # Nothing left to destroy: no new batch, and running the destroyed batch again does nothing.
    assert destruction.destruction_propose() is None
    assert destruction.destruction_run(batch_id=first.pk) is False
    assert DestructionRecord.objects.filter(batch=first).count() == 5


def test_only_a_privacy_officer_who_did_not_propose_approves(counselor, manager, admin_user_staff, officer, officer2):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    _withdraw_collection(counselor, case.client)
    batch = destruction.destruction_propose(by=officer)
    assert batch is not None
    for user in (counselor, manager, admin_user_staff):
        with pytest.raises(PermissionDenied):
            destruction.destruction_approve(user=user, batch_id=batch.pk)
    with pytest.raises(FourEyes):
        destruction.destruction_approve(user=officer, batch_id=batch.pk)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PROPOSED
    destruction.destruction_approve(user=officer2, batch_id=batch.pk)
    batch.refresh_from_db()
    assert (batch.status, batch.approved_by) == (BatchStatus.APPROVED, officer2)
    # Nothing is destroyed before the worker runs it.
    assert Client.objects.get(pk=case.client_id).name == NAME


def test_an_interrupted_destruction_leaves_nothing_half_destroyed_and_resumes(counselor, officer):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    _withdraw_collection(counselor, case.client)
    batch = destruction.destruction_propose()
    assert batch is not None
    destruction.destruction_approve(user=officer, batch_id=batch.pk)
    real = destruction._destroy
    calls = []

    def dies_on_the_third(record_type: str, ids: list[int], now: dt.datetime) -> None:
        calls.append(record_type)
        if len(calls) == 3:
            raise DatabaseError("connection lost")
        real(record_type, ids, now)

    with mock.patch.object(destruction, "_destroy", dies_on_the_third), pytest.raises(DatabaseError):
        destruction.destruction_run(batch_id=batch.pk)
    batch.refresh_from_db()
    client = Client.objects.get(pk=case.client_id)
    assert (batch.status, batch.run_attempts) == (BatchStatus.APPROVED, 1)
    assert client.rrn_hash is not None and CaseNote.objects.filter(case__client=client).exists()
    assert not DestructionRecord.objects.filter(batch=batch).exists()
    assert destruction.destruction_run(batch_id=batch.pk, ran_by="second worker")
    batch.refresh_from_db()
    assert (batch.status, batch.run_attempts, batch.ran_by) == (BatchStatus.DESTROYED, 2, "second worker")
    assert Client.objects.get(pk=case.client_id).name == DESTROYED_NAME
    ledger = {r.record_type: r for r in DestructionRecord.objects.filter(batch=batch)}
    assert set(ledger) == {"identity", "rrn", "case_notes", "needs", "consents"}
    assert ledger["case_notes"].rows == 2  # the note added to the case and the note it was opened with
    assert ledger["consents"].rows == 2 and ledger["identity"].method == "overwritten"
    assert {(r.approved_by_id, r.ran_by, r.ground) for r in ledger.values()} == {
        (officer.pk, "second worker", "consent_withdrawn")
    }


def test_the_database_refuses_to_edit_or_delete_a_ledger_row(counselor, officer):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    _withdraw_collection(counselor, case.client)
    _destroy_all(officer)
    row = DestructionRecord.objects.first()
    assert row is not None
    for statement in ("UPDATE privacy_destructionrecord SET rows = 0", "DELETE FROM privacy_destructionrecord"):
        with pytest.raises(DatabaseError, match="never edited"), transaction.atomic(), connection.cursor() as cur:
            cur.execute(statement)
    assert DestructionRecord.objects.get(pk=row.pk).rows == row.rows


def test_a_hold_set_after_the_proposal_is_still_honoured(counselor, officer):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    _withdraw_collection(counselor, case.client)
    batch = destruction.destruction_propose()
    assert batch is not None
    destruction.destruction_approve(user=officer, batch_id=batch.pk)
    destruction.retention_hold_set(user=officer, client_id=case.client_id, basis=KeepBasis.LITIGATION)
    destruction.destruction_run(batch_id=batch.pk)
    assert Client.objects.get(pk=case.client_id).name == NAME
    assert set(batch.items.values_list("status", "keep_basis")) == {(ItemStatus.SKIPPED, KeepBasis.LITIGATION)}


# --- withdrawal of the collection consent ------------------------------------------------------------------


def test_withdrawing_the_collection_consent_stops_new_cases_and_referrals(
    counselor, django_capture_on_commit_callbacks
):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    with django_capture_on_commit_callbacks(execute=True):
        _withdraw_collection(counselor, case.client)
    client = Client.objects.get(pk=case.client_id)  # as the next request reads it
    assert client.processing_stopped == "withdrawn"
    with pytest.raises(ProcessingStopped) as err:
        case_services.case_open(
            user=counselor, client=client, opening=case_opening_parse({"channel": "walk_in", "needs": []})
        )
    assert err.value.status_code == 409 and err.value.code == "processing_stopped"
    with pytest.raises(ProcessingStopped):
        referral_services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    # ... and makes everything of theirs due now, in the batch proposed at once.
    batch = destruction.open_batch()
    assert batch is not None
    items = batch.items.filter(client_id=case.client_id)
    assert {i.record_type for i in items} == {"identity", "rrn", "case_notes", "needs", "consents"}
    assert {(i.ground, i.due_on) for i in items} == {("consent_withdrawn", timezone.localdate())}


def test_a_new_collection_consent_at_intake_lets_a_returning_client_be_served(counselor):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    _withdraw_collection(counselor, case.client)
    case_services.consent_record(user=counselor, client=case.client, purpose="collection", method="paper")
    opened = case_services.case_open(
        user=counselor, client=case.client, opening=case_opening_parse({"channel": "walk_in", "needs": []})
    )
    assert opened.client_id == case.client_id


def test_the_referral_api_answers_409_processing_stopped(counselor, api_for):
    case = _register(counselor, name=NAME, phone=PHONE, birth=BIRTH, serial=SERIAL, note=NOTE)
    _withdraw_collection(counselor, case.client)
    resp = api_for(counselor).post("/api/v1/referrals/", {"case": case.pk, "service": "debt_adjustment"}, format="json")
    assert resp.status_code == 409 and resp.json()["code"] == "processing_stopped"
