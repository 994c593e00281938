import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from cases import services
from cases.crypto import rrn_decrypt
from cases.inputs import CaseOpening, client_facts_parse, client_situation_parse
from cases.models import Case, CaseNote, Client, Consent, Need, PiiAccessLog
from cases.signals import consent_withdrawn
from cases.tasks import purge_access_log
from cases.tests.factories import make_case, make_client, valid_rrn
from core.errors import DuplicateClient, InvalidInput, InvalidTransition, NotFound, PermissionDenied

BIRTH = dt.date(1990, 1, 1)
RRN = valid_rrn(BIRTH)  # 900101-1234568


def test_rrn_is_stored_only_encrypted_with_blind_index_and_masked_prefix(counselor):
    client = make_client(counselor, birth_date=BIRTH, rrn=RRN)
    client.refresh_from_db()
    assert client.rrn_masked == "900101-1******"
    assert rrn_decrypt(client.rrn_ciphertext) == RRN.replace("-", "")
    assert len(client.rrn_hash) == 64 and RRN.replace("-", "") not in client.rrn_hash
    assert client.gender == "M"  # taken from the RRN when not given


@pytest.mark.django_db(transaction=True)
def test_database_holds_no_plaintext_rrn_in_any_column(counselor):
    make_client(counselor, birth_date=BIRTH, rrn=RRN)
    digits, dashed = RRN.replace("-", ""), RRN
    with connection.cursor() as cur:
        cur.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' AND data_type IN ('text', 'character varying', 'bytea', 'json', 'jsonb')"
        )
        columns = cur.fetchall()
        assert len(columns) > 50
        hits = []
        for table, column, dtype in columns:
            expr = f'"{column}"' if dtype == "bytea" else f"convert_to(\"{column}\"::text, 'UTF8')"
            for needle in (digits, dashed):
                cur.execute(
                    f"SELECT count(*) FROM \"{table}\" WHERE position(convert_to(%s, 'UTF8') in {expr}) > 0",  # noqa: S608
                    [needle],
                )
                if cur.fetchone()[0]:
                    hits.append((table, column))
    assert hits == []


@pytest.mark.sqlite
def test_duplicate_rrn_in_the_same_center_returns_the_existing_client(counselor):
    first = make_client(counselor, birth_date=BIRTH, rrn=RRN)
    with pytest.raises(DuplicateClient) as err:
        make_client(counselor, name="다른이름", birth_date=BIRTH, phone="010-9999-0000", rrn=RRN.replace("-", ""))
    assert err.value.existing_id == first.pk
    assert Client.objects.count() == 1


@pytest.mark.sqlite
def test_duplicate_name_birth_and_phone_matches_whatever_the_phone_format(counselor):
    first = make_client(counselor, name="김민준", birth_date=BIRTH, phone="010-1234-5678")
    with pytest.raises(DuplicateClient) as err:
        make_client(counselor, name=" 김민준 ", birth_date=BIRTH, phone="01012345678")
    assert err.value.existing_id == first.pk


@pytest.mark.sqlite
def test_same_person_may_be_registered_at_another_center(counselor, mf_counselor):
    make_client(counselor, birth_date=BIRTH, rrn=RRN, phone="010-1234-5678")
    other = make_client(mf_counselor, birth_date=BIRTH, rrn=RRN, phone="010-1234-5678")
    assert other.center.code == "MF-SEOUL-GWANAK"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("010-1234-5678", "010-1234-5678"),
        ("01012345678", "010-1234-5678"),
        ("010 1234 5678", "010-1234-5678"),
        ("+82 10-1234-5678", "010-1234-5678"),
        ("011-123-4567", "011-123-4567"),
        ("021234567", "02-123-4567"),
        ("02-1234-5678", "02-1234-5678"),
        ("031-123-4567", "031-123-4567"),
        ("064-7123-4567", "064-7123-4567"),
        ("070-1234-5678", "070-1234-5678"),
    ],
)
def test_phone_numbers_are_normalized(counselor, raw, normalized):
    assert make_client(counselor, phone=raw).phone == normalized


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "010-123-456"}, "phone"),
        ({"phone": "099-1234-5678"}, "phone"),
        ({"phone": "010-1234-56789"}, "phone"),
        ({"phone": "phone"}, "phone"),
        ({"phone": 1012345678}, "phone"),
        ({"birth_date": dt.date(2999, 1, 1)}, "birth_date"),
        ({"birth_date": dt.date(1850, 1, 1)}, "birth_date"),
        ({"birth_date": "1990-01-01"}, "birth_date"),
        ({"name": ""}, "name"),
        ({"name": "가" * 51}, "name"),
        ({"name": "홍길동1"}, "name"),
        ({"birth_date": BIRTH, "rrn": "900101-1234567"}, "rrn"),  # wrong check digit
        ({"birth_date": BIRTH, "rrn": "9001011"}, "rrn"),
        ({"birth_date": dt.date(1991, 1, 1), "rrn": RRN}, "rrn"),  # does not match the birth date
        ({"gender": "Q"}, "gender"),
        ({"income_band": "rich"}, "income_band"),
        ({"arrears_days": -3}, "arrears_days"),
        ({"household_size": "many"}, "household_size"),
        ({"region": "99"}, "region"),
    ],
)
def test_bad_client_input_is_a_field_error_and_saves_nothing(counselor, overrides, field):
    with pytest.raises(InvalidInput) as err:
        make_client(counselor, **overrides)
    assert err.value.field == field
    assert "1234567" not in err.value.detail and "1234568" not in err.value.detail
    assert Client.objects.count() == 0


def test_ministry_and_admin_cannot_register_clients(ministry_user, admin_user_staff):
    for user in (ministry_user, admin_user_staff):
        with pytest.raises(PermissionDenied):
            make_client(user)


def test_client_update_changes_facts_and_refuses_to_collide_with_another_client(counselor):
    a = make_client(counselor, name="김민준", phone="010-1111-2222", birth_date=BIRTH)
    b = make_client(counselor, name="이서연", phone="010-3333-4444", birth_date=BIRTH)
    services.client_update(
        user=counselor, client=b, facts=client_situation_parse({"income_band": "none", "arrears_days": 40})
    )
    b.refresh_from_db()
    assert (b.income_band, b.arrears_days, b.debt_status) == ("none", 40, "arrears")
    renamed = client_facts_parse({"name": "김민준", "birth_date": BIRTH, "phone": "01011112222"})
    with pytest.raises(DuplicateClient) as err:
        services.client_update(user=counselor, client=b, facts=renamed)
    assert err.value.existing_id == a.pk
    b.refresh_from_db()
    assert b.name == "이서연"


def test_client_update_keeps_the_stored_rrn_and_refuses_a_birth_date_it_contradicts(counselor):
    client = make_client(counselor, name="김민준", birth_date=BIRTH, rrn=RRN, phone="010-1111-2222")
    moved = client_facts_parse({"name": "김민준", "birth_date": BIRTH, "phone": "010-9999-8888"})
    services.client_update(user=counselor, client=client, facts=moved)
    client.refresh_from_db()
    assert (client.phone, client.rrn_masked) == ("010-9999-8888", "900101-1******")
    wrong_birth = client_facts_parse({"name": "김민준", "birth_date": dt.date(1991, 1, 1), "phone": "010-9999-8888"})
    with pytest.raises(InvalidInput) as err:
        services.client_update(user=counselor, client=client, facts=wrong_birth)
    assert err.value.field == "birth_date"


def test_another_centers_counselor_cannot_touch_a_client(counselor, mf_counselor):
    client = make_client(counselor)
    with pytest.raises(NotFound):
        services.client_update(user=mf_counselor, client=client, facts=client_situation_parse({"income_band": "none"}))
    with pytest.raises(NotFound):
        services.case_open(user=mf_counselor, client=client, opening=CaseOpening(channel="walk_in"))


def test_consent_records_kinds_and_expiry(counselor):
    client = make_client(counselor)
    consent = services.consent_record(
        user=counselor,
        client=client,
        purpose="referral",
        method="paper",
        organization_kinds=["microfinance", "microfinance", "local_government"],
    )
    assert consent.organization_kinds == ["microfinance", "local_government"]
    assert consent.covers("microfinance") and not consent.covers("credit_recovery")
    assert consent.expires_at.year == consent.given_at.year + 3


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"purpose": "referral", "method": "paper", "organization_kinds": []}, "organization_kinds"),
        ({"purpose": "referral", "method": "paper", "organization_kinds": ["bank"]}, "organization_kinds"),
        ({"purpose": "referral", "method": "paper", "organization_kinds": "microfinance"}, "organization_kinds"),
        ({"purpose": "marketing", "method": "paper"}, "purpose"),
        ({"purpose": "collection", "method": "fax"}, "method"),
    ],
)
def test_bad_consent_input_is_a_field_error(counselor, kwargs, field):
    client = make_client(counselor)
    with pytest.raises(InvalidInput) as err:
        services.consent_record(user=counselor, client=client, **kwargs)
    assert err.value.field == field
    assert Consent.objects.count() == 0


def test_withdrawing_consent_records_who_and_when_and_sends_the_signal(counselor, manager):
    client = make_client(counselor)
    consent = services.consent_record(
        user=counselor, client=client, purpose="referral", method="paper", organization_kinds=["microfinance"]
    )
    received = []

    def receiver(sender, consent, by, **kwargs):
        received.append((consent.pk, by.pk))

    consent_withdrawn.connect(receiver)
    try:
        with time_machine.travel(dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC), tick=False):
            services.consent_withdraw(user=manager, consent=consent)
    finally:
        consent_withdrawn.disconnect(receiver)
    consent.refresh_from_db()
    assert consent.withdrawn_at == dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    assert consent.withdrawn_by == manager
    assert received == [(consent.pk, manager.pk)]
    with pytest.raises(InvalidTransition):
        services.consent_withdraw(user=counselor, consent=consent)


def test_a_failing_withdrawal_receiver_rolls_the_withdrawal_back(counselor):
    client = make_client(counselor)
    consent = services.consent_record(
        user=counselor, client=client, purpose="referral", method="paper", organization_kinds=["microfinance"]
    )

    def boom(sender, **kwargs):
        raise RuntimeError("referral cancellation failed")

    consent_withdrawn.connect(boom)
    try:
        with pytest.raises(RuntimeError):
            services.consent_withdraw(user=counselor, consent=consent)
    finally:
        consent_withdrawn.disconnect(boom)
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_case_open_records_needs_and_the_caller_as_counselor(counselor):
    case = make_case(
        counselor,
        needs=[{"domain": "employment", "code": "job_search", "note": "물류"}, {"code": "debt_adjustment"}],
        note="첫 방문",
    )
    assert case.counselor == counselor and case.status == "open"
    assert case.center == counselor.staff.center
    assert sorted(case.needs.values_list("domain", "code")) == [
        ("employment", "job_search"),
        ("finance", "debt_adjustment"),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"needs": [{"domain": "employment", "code": "teleport"}]}, "needs"),
        ({"needs": [{"domain": "welfare", "code": "job_search"}]}, "needs"),
        ({"needs": [{"code": "job_search"}, {"code": "job_search"}]}, "needs"),
        ({"needs": "job_search"}, "needs"),
        ({"needs": [{"code": "job_search", "note": "x" * 501}]}, "needs"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"note": "x" * 4001}, "note"),
    ],
)
def test_bad_case_input_is_a_field_error_and_opens_nothing(counselor, kwargs, field):
    client = make_client(counselor)
    with pytest.raises(InvalidInput) as err:
        make_case(counselor, client, **kwargs)
    assert err.value.field == field
    assert Case.objects.count() == 0 and Need.objects.count() == 0


def test_closing_a_case_records_the_result_and_stops_notes(counselor):
    case = make_case(counselor)
    services.case_note_add(user=counselor, case=case, text="연락 완료")
    services.case_close(user=counselor, case=case, result="resolved", note="종결")
    case.refresh_from_db()
    assert (case.status, case.result, case.closed_by) == ("closed", "resolved", counselor)
    assert list(CaseNote.objects.filter(case=case).values_list("text", flat=True)) == ["연락 완료", "종결"]
    with pytest.raises(InvalidTransition):
        services.case_close(user=counselor, case=case, result="resolved")
    with pytest.raises(InvalidTransition):
        services.case_note_add(user=counselor, case=case, text="늦은 메모")


def test_empty_note_and_unknown_result_are_field_errors(counselor):
    case = make_case(counselor)
    with pytest.raises(InvalidInput) as err:
        services.case_note_add(user=counselor, case=case, text="   ")
    assert err.value.field == "text"
    with pytest.raises(InvalidInput) as err:
        services.case_close(user=counselor, case=case, result="great")
    assert err.value.field == "result"


def test_intake_without_collection_consent_saves_nothing(counselor):
    with pytest.raises(InvalidInput) as err:
        services.intake_record(
            user=counselor,
            client=None,
            facts=client_facts_parse({"name": "홍길동", "birth_date": BIRTH, "phone": "010-1234-5678"}),
            collection_consent=False,
            referral_kinds=[],
            consent_method="paper",
            opening=CaseOpening(channel="walk_in"),
        )
    assert err.value.field == "collection_consent"
    assert Client.objects.count() == 0


def test_access_log_write_records_user_client_view_and_address(counselor):
    a, b = make_client(counselor), make_client(counselor)
    written = services.pii_access_log_write(user=counselor, clients=[a, b, a], view="test", ip_address="10.0.0.7")
    assert written == 2
    assert set(PiiAccessLog.objects.filter(action="read").values_list("client_id", "view", "ip_address")) == {
        (a.pk, "test", "10.0.0.7"),
        (b.pk, "test", "10.0.0.7"),
    }


def test_purge_task_deletes_only_rows_older_than_retention(counselor, settings):
    settings.PII_ACCESS_LOG_RETENTION_DAYS = 730
    client = make_client(counselor)
    with time_machine.travel(timezone.now() - dt.timedelta(days=731)):
        services.pii_access_log_write(user=counselor, clients=[client], view="old", ip_address=None)
    with time_machine.travel(timezone.now() - dt.timedelta(days=700)):
        services.pii_access_log_write(user=counselor, clients=[client], view="recent", ip_address=None)
    assert purge_access_log() == 1
    assert list(PiiAccessLog.objects.filter(action="read").values_list("view", flat=True)) == ["recent"]
    assert purge_access_log() == 0
