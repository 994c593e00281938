import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection

from cases.crypto import rrn_blind_index, rrn_decrypt, rrn_normalize
from cases.models import Case, Client, Consent, Need
from centers.models import StaffProfile
from demo.synthetic import Spec, generate_synthetic
from referral.models import Referral, ReferralEvent, Status

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 15, 30, tzinfo=dt.UTC)
SPEC = Spec(clients=300, referrals=1500, months=12, seed=7, batch=400, now=NOW)


@pytest.fixture
def generated(directory):
    return generate_synthetic(SPEC)


def _scalar(sql: str) -> int:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


@pytest.mark.sqlite
def test_writes_the_requested_numbers_of_clients_and_referrals(generated):
    assert Client.objects.count() == 300
    assert Referral.objects.count() == 1500
    assert Need.objects.count() == 1500
    assert Consent.objects.count() == 600
    assert Case.objects.count() >= 300
    assert ReferralEvent.objects.count() > 2 * 1500
    assert generated.counts["referrals"] == 1500
    # Creators and assignees are real staff of the centers involved.
    assert StaffProfile.objects.filter(user__username__startswith="syn_").count() > 0


def test_every_referral_timestamp_follows_the_lifecycle_order(generated):
    bad = _scalar(
        """SELECT count(*) FROM referral_referral r JOIN cases_case c ON c.id = r.case_id WHERE
        r.created_at <= c.opened_at
        OR r.routed_at <= r.created_at OR r.accepted_at <= r.routed_at OR r.started_at <= r.accepted_at
        OR r.closed_at <= coalesce(r.started_at, r.accepted_at, r.routed_at, r.created_at)
        OR (r.accepted_at IS NOT NULL AND r.routed_at IS NULL)
        OR (r.started_at IS NOT NULL AND r.accepted_at IS NULL)
        OR greatest(r.created_at, r.routed_at, r.accepted_at, r.started_at, r.closed_at, r.updated_at) > '2026-03-02T15:30:00Z'
        OR (r.status IN ('completed', 'failed', 'cancelled', 'rejected')) <> (r.closed_at IS NOT NULL)
        OR (r.status = 'completed' AND r.outcome = '') OR (r.status IN ('failed', 'cancelled', 'rejected') AND r.reason = '')
        OR (r.routed_at IS NOT NULL AND r.accept_due_at <= r.routed_at)
        OR (r.to_desk_id IS NOT NULL) <> (r.to_center_id IS NOT NULL)"""
    )
    assert bad == 0
    # Events: every referral starts with `create` at its creation and never goes back in time.
    assert (
        _scalar(
            """SELECT count(*) FROM referral_referral r WHERE NOT EXISTS (SELECT 1 FROM referral_referralevent e
        WHERE e.referral_id = r.id AND e.kind = 'create' AND e.at = r.created_at)"""
        )
        == 0
    )
    assert (
        _scalar(
            """SELECT count(*) FROM referral_referralevent e JOIN referral_referral r ON r.id = e.referral_id
        WHERE e.at < r.created_at OR e.at > r.updated_at"""
        )
        == 0
    )
    # Cases close only after their referrals did.
    assert (
        _scalar(
            """SELECT count(*) FROM cases_case c JOIN referral_referral r ON r.case_id = c.id
        WHERE c.status = 'closed' AND (r.closed_at IS NULL OR c.closed_at <= r.closed_at)"""
        )
        == 0
    )


def test_referrals_spread_over_the_months_with_no_pile_up_before_now(generated):
    # The last full month holds about its share of a growing program, not a pile of histories
    # squeezed in before `now` (that once put a third of all referrals into the current month).
    with connection.cursor() as cur:
        cur.execute(
            "SELECT date_trunc('month', created_at AT TIME ZONE 'Asia/Seoul') AS m, count(*) FROM referral_referral "
            "WHERE created_at < '2026-03-01T00:00:00+09:00' GROUP BY 1 ORDER BY 1"
        )
        per_month = [n for _m, n in cur.fetchall()]
    assert len(per_month) >= 11
    assert max(per_month) < 2.5 * (sum(per_month) / len(per_month))
    current = _scalar("SELECT count(*) FROM referral_referral WHERE created_at >= '2026-03-01T00:00:00+09:00'")
    assert current < 0.05 * 1500  # two days of March


def test_every_status_and_a_decline_and_an_overdue_referral_appear(generated):
    assert set(Referral.objects.values_list("status", flat=True)) == set(Status.values)
    assert ReferralEvent.objects.filter(kind="decline").exists()
    assert Referral.objects.filter(status="requested", to_desk__isnull=False, accept_due_at__lt=NOW).exists() or (
        Referral.objects.filter(status__in=["accepted", "in_progress"], close_due_at__lt=NOW).exists()
    )
    # Finance centers mostly send to employment and welfare; co-located desks are preferred.
    from_mf = Referral.objects.filter(from_center__kind="microfinance")
    assert from_mf.filter(service__domain="employment").count() > from_mf.filter(service__domain="finance").count()
    routed = Referral.objects.exclude(colocated=None)
    assert routed.filter(colocated=True).count() > routed.count() / 3


def test_every_referral_is_covered_by_a_consent_for_the_receiving_desk(generated):
    for r in Referral.objects.exclude(to_desk=None).select_related("consent", "to_desk"):
        assert r.consent.client_id == r.client_id
        assert r.consent.covers(r.to_desk.operator_kind)
        assert r.consent.given_at <= r.created_at


@pytest.mark.sqlite
def test_rrns_are_stored_only_encrypted(generated):
    clients = list(Client.objects.exclude(rrn_ciphertext=None))
    assert len(clients) > 200
    for c in clients:
        digits = rrn_decrypt(c.rrn_ciphertext)
        assert rrn_normalize(digits) == digits
        assert digits.encode() not in bytes(c.rrn_ciphertext)
        assert c.rrn_hash == rrn_blind_index(digits)
        assert c.rrn_prefix == f"{digits[:6]}-{digits[6]}"
        assert c.birth_date.strftime("%y%m%d") == digits[:6]


def _snapshot() -> dict[str, list[tuple]]:
    out = {}
    for model in (Client, Consent, Case, Need, Referral, ReferralEvent):
        rows = []
        for obj in model.objects.order_by("pk"):
            values = {f.attname: getattr(obj, f.attname) for f in model._meta.concrete_fields}
            if model is Client and values["rrn_ciphertext"] is not None:
                values["rrn_ciphertext"] = rrn_decrypt(values["rrn_ciphertext"])
            rows.append(tuple(sorted(values.items())))
        out[model.__name__] = rows
    return out


def _empty_tables() -> None:
    # Sequences are not rolled back between tests: restart them so ids start at 1 each time.
    with connection.cursor() as cur:
        cur.execute(
            "TRUNCATE cases_client, cases_consent, cases_case, cases_need, referral_referral, "
            "referral_referralevent RESTART IDENTITY CASCADE"
        )


def test_the_same_seed_gives_the_same_rows(directory):
    spec = Spec(clients=40, referrals=200, months=6, seed=11, batch=50, now=NOW)
    _empty_tables()
    generate_synthetic(spec)
    first = _snapshot()
    _empty_tables()
    generate_synthetic(spec)
    assert _snapshot() == first
    _empty_tables()
    generate_synthetic(Spec(clients=40, referrals=200, months=6, seed=12, batch=50, now=NOW))
    assert _snapshot() != first


def test_appending_to_existing_data_keeps_indexes_and_ids_consistent(directory):
    generate_synthetic(Spec(clients=30, referrals=100, months=3, seed=1, now=NOW))
    generate_synthetic(Spec(clients=30, referrals=100, months=3, seed=1, now=NOW), bulk=False)
    assert Referral.objects.count() == 200
    assert Client.objects.values("center", "rrn_hash").exclude(rrn_hash=None).distinct().count() == (
        Client.objects.exclude(rrn_hash=None).count()
    )
    # The sequences continue after the generated ids.
    client = Client.objects.first()
    assert (
        Need.objects.create(case=Case.objects.first(), domain="welfare", code="x").pk
        > Need.objects.order_by("-pk")[1].pk
    )
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'referral_referral'")
        assert cur.fetchone()[0] >= 10
    assert client is not None


@pytest.mark.sqlite
def test_command_reports_what_it_wrote(directory, capsys):
    call_command("generate_synthetic", clients=10, referrals=30, months=2, seed=3, now=NOW)
    out = capsys.readouterr()
    assert "referrals 30" in out.out
    assert "synthetic:" in out.err
    assert Referral.objects.count() == 30


def _index_count() -> int:
    return _scalar(
        "SELECT count(*) FROM pg_indexes WHERE tablename IN ('cases_client', 'cases_consent', 'cases_case', "
        "'cases_need', 'referral_referral', 'referral_referralevent')"
    )


def test_a_referral_pointing_nowhere_rolls_the_load_back(directory, monkeypatch):
    # The per-row foreign key triggers are skipped during COPY; the batch check must catch an orphan.
    from demo import synthetic

    indexes = _index_count()
    real = synthetic._Generator.referral

    def orphan(self, events, rid, case_id, *args):  # type: ignore[no-untyped-def]
        line, *rest = real(self, events, rid, case_id, *args)
        return (line.replace(f"{rid}\t{case_id}\t", f"{rid}\t{case_id + 10**9}\t", 1), *rest)

    monkeypatch.setattr(synthetic._Generator, "referral", orphan)
    with pytest.raises(IntegrityError, match="referral_referral.case_id"):
        generate_synthetic(Spec(clients=40, referrals=200, months=6, seed=11, batch=50, now=NOW))
    assert Referral.objects.count() == Client.objects.count() == 0
    assert _index_count() == indexes


def test_a_failure_while_building_a_later_batch_rolls_the_load_back(directory, monkeypatch):
    from demo import synthetic

    indexes = _index_count()
    real = synthetic._Generator.build
    built = []

    def failing(self, plan, first):  # type: ignore[no-untyped-def]
        built.append(plan)
        if len(built) == 3:
            raise RuntimeError("builder broke")
        return real(self, plan, first)

    monkeypatch.setattr(synthetic._Generator, "build", failing)
    with pytest.raises(RuntimeError, match="builder broke"):
        generate_synthetic(Spec(clients=40, referrals=200, months=6, seed=11, batch=50, now=NOW))
    assert Referral.objects.count() == ReferralEvent.objects.count() == 0
    assert _index_count() == indexes
