"""The person's requests (Act §35-§37) and the provision ledger (Decree §15), on PostgreSQL through the API."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.utils import timezone
from pypdf import PdfReader

from cases.models import AccessAction, Client, PiiAccessLog, ProcessingStop
from privacy import destruction
from privacy.requests import requests_alert_due
from privacy.requests_models import Provision, SubjectRequest
from privacy.retention_models import DestructionGround, DestructionItem
from referral import services as referral_services
from referral.models import Notification, Referral, Status
from referral.tests.factories import case_with_consent

pytestmark = pytest.mark.django_db
SEOUL = dt.timezone(dt.timedelta(hours=9))


def _request(api: Any, client_id: int, kind: str, **extra: Any) -> Any:
    return api.post(
        f"/api/v1/clients/{client_id}/requests/",
        {"kind": kind, "identity_check": "id_card", **extra},
        format="json",
    )


def _refer(api: Any, case: Any, service: str = "job_placement") -> Any:
    return api.post("/api/v1/referrals/", {"case": case.pk, "service": service}, format="json")


def test_a_request_is_due_ten_days_after_receipt_and_only_its_center_may_record_it(counselor, make_staff, api_for):
    case = case_with_consent(counselor)
    received = dt.datetime(2026, 12, 1, 10, 0, tzinfo=SEOUL)
    with time_machine.travel(dt.datetime(2026, 12, 2, 9, 0, tzinfo=SEOUL), tick=False):
        r = _request(api_for(counselor), case.client_id, "access", received_at=received.isoformat(), note="방문 요청")
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["kind"], body["status"], body["overdue"]) == ("access", "open", False)
    assert dt.datetime.fromisoformat(body["due_at"]) == received + dt.timedelta(days=10)
    # Another center's counselor does not see the client at all.
    other = make_staff("counselor", "MF-SEOUL-GWANAK", username="mf_other")
    assert _request(api_for(other), case.client_id, "access").status_code == 404
    # A request received in the future, or with no way of checking identity, is refused with a field error.
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()
    bad = _request(api_for(counselor), case.client_id, "access", received_at=future)
    assert bad.status_code == 400 and "received_at" in bad.json()
    no_check = api_for(counselor).post(f"/api/v1/clients/{case.client_id}/requests/", {"kind": "access"}, format="json")
    assert no_check.status_code == 400 and "identity_check" in no_check.json()
    assert SubjectRequest.objects.count() == 1


def test_a_suspension_blocks_new_referrals_and_hides_the_client_until_it_is_refused(counselor, manager, api_for):
    case = case_with_consent(counselor)
    api = api_for(counselor)
    name = case.client.name
    assert _request(api, case.client_id, "suspension").status_code == 201
    blocked = _refer(api, case)
    assert blocked.status_code == 409 and blocked.json()["code"] == "processing_suspended"
    assert not Referral.objects.exists()
    # Not found by search nor listed; the client's page itself still opens (the counselor sees why).
    assert all(c["id"] != case.client_id for c in api.get("/api/v1/clients/", {"q": name}).json()["results"])
    assert all(c["id"] != case.client_id for c in api.get("/api/v1/clients/").json()["results"])
    assert api.get(f"/api/v1/clients/{case.client_id}/").status_code == 200
    # The manager refuses it (the center needs the data for a duty set by law): processing resumes.
    rid = SubjectRequest.objects.get().pk
    refused = api_for(manager).post(
        f"/api/v1/privacy/requests/{rid}/answer/", {"decision": "refused", "reason": "public_duty"}, format="json"
    )
    assert refused.status_code == 200, refused.content
    assert Client.objects.get(pk=case.client_id).processing_stopped == ProcessingStop.NONE
    assert _refer(api, case).status_code == 201
    assert any(c["id"] == case.client_id for c in api.get("/api/v1/clients/", {"q": name}).json()["results"])


def test_answers_are_coded_given_once_and_only_by_the_officer_or_the_centers_manager(
    counselor, manager, officer, make_staff, api_for
):
    case = case_with_consent(counselor)
    rid = _request(api_for(counselor), case.client_id, "correction").json()["id"]
    url = f"/api/v1/privacy/requests/{rid}/answer/"
    assert api_for(counselor).post(url, {"decision": "granted"}, format="json").status_code == 403
    other_manager = make_staff("center_manager", "EW-BUSAN-SAHA", username="busan_manager")
    assert api_for(other_manager).post(url, {"decision": "granted"}, format="json").status_code == 404
    no_reason = api_for(officer).post(url, {"decision": "refused"}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    bad_reason = api_for(officer).post(url, {"decision": "refused", "reason": "because"}, format="json")
    assert bad_reason.status_code == 400
    ok = api_for(officer).post(
        url,
        {"decision": "partly_granted", "reason": "law_requires", "answer": "주소 정정, 소득 구간은 유지"},
        format="json",
    )
    assert ok.status_code == 200
    assert (ok.json()["status"], ok.json()["decision"], ok.json()["reason"]) == (
        "answered",
        "partly_granted",
        "law_requires",
    )
    again = api_for(manager).post(url, {"decision": "granted"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_answered"


def test_the_queue_shows_the_officer_every_center_a_center_its_own_and_the_overdue(
    counselor, officer, make_staff, ministry_user, api_for
):
    mine = case_with_consent(counselor)
    busan = make_staff("counselor", "EW-BUSAN-SAHA", username="busan_counselor")
    theirs = case_with_consent(busan)
    old = (timezone.now() - dt.timedelta(days=12)).isoformat()
    _request(api_for(counselor), mine.client_id, "access", received_at=old)
    _request(api_for(busan), theirs.client_id, "erasure")
    assert api_for(officer).get("/api/v1/privacy/requests/").json()["count"] == 2
    own = api_for(counselor).get("/api/v1/privacy/requests/").json()
    assert [r["client"] for r in own["results"]] == [mine.client_id]
    overdue = api_for(officer).get("/api/v1/privacy/requests/", {"overdue": "true"}).json()
    assert [(r["client"], r["overdue"]) for r in overdue["results"]] == [(mine.client_id, True)]
    assert api_for(ministry_user).get("/api/v1/privacy/requests/").status_code == 403
    assert api_for(officer).get("/api/v1/privacy/requests/", {"status": "closed"}).status_code == 400


def test_a_withdrawal_withdraws_every_consent_and_cancels_the_open_referrals(counselor, api_for):
    case = case_with_consent(counselor)
    api = api_for(counselor)
    sent = _refer(api, case).json()["id"]
    r = _request(api, case.client_id, "withdrawal")
    assert r.status_code == 201 and (r.json()["status"], r.json()["decision"]) == ("answered", "granted")
    assert not case.client.consents.filter(withdrawn_at__isnull=True).exists()
    assert Referral.objects.get(pk=sent).status == Status.CANCELLED


def test_an_access_request_answers_with_a_korean_report_of_everything_held_and_its_print_is_recorded(
    counselor, officer, api_for
):
    case = case_with_consent(counselor)
    referral = referral_services.referral_create(by=counselor, case_id=case.pk, service_code="credit_counseling")
    routed = referral_services.referral_route(referral_id=referral.pk)
    assert routed is not None and routed.to_desk is not None
    second = referral_services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
    assert referral_services.referral_route(referral_id=second.pk) is not None
    # Another client of the same center, provided to the same organizations: nothing of theirs may show.
    other_case = case_with_consent(counselor)
    other = referral_services.referral_create(by=counselor, case_id=other_case.pk, service_code="credit_counseling")
    assert referral_services.referral_route(referral_id=other.pk) is not None
    provided = Provision.objects.filter(client_id=case.client_id)
    assert provided.count() == 2 and Provision.objects.filter(client_id=other_case.client_id).count() == 1
    rid = _request(api_for(counselor), case.client_id, "access").json()["id"]
    answer = api_for(officer).post(f"/api/v1/privacy/requests/{rid}/answer/", {"decision": "granted"}, format="json")
    assert answer.status_code == 200
    url = answer.json()["report"]
    assert url == f"/api/v1/privacy/requests/{rid}/report/"
    pdf = api_for(counselor).get(url)
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    text = "".join(text.split())
    for expected in ("개인정보열람결과통지서", case.client.name, "동의내역", f"R{referral.pk}", "다른기관에제공한내역"):
        assert expected in text, expected
    assert "".join(routed.to_desk.name.split()) in text
    for row in provided:  # every provision of the person, each with its referral number
        assert f"R{row.referral_id}" in text
    assert f"R{second.pk}" in text
    assert "".join(other_case.client.name.split()) not in text and f"R{other.pk}" not in text
    printed = PiiAccessLog.objects.filter(client_id=case.client_id, action=AccessAction.PRINT)
    assert printed.count() == 1 and printed.get().user_id == counselor.pk


def test_a_granted_erasure_puts_the_client_in_the_next_destruction_batch(counselor, officer, officer2, api_for):
    case = case_with_consent(counselor)
    rid = _request(api_for(counselor), case.client_id, "erasure").json()["id"]
    with transaction.atomic():
        api_for(officer).post(f"/api/v1/privacy/requests/{rid}/answer/", {"decision": "granted"}, format="json")
    assert Client.objects.get(pk=case.client_id).processing_stopped == ProcessingStop.SUSPENDED
    batch = destruction.destruction_propose()
    assert batch is not None
    grounds = set(
        DestructionItem.objects.filter(batch=batch, client_id=case.client_id).values_list("ground", flat=True)
    )
    assert grounds == {DestructionGround.ERASURE_REQUESTED}
    destruction.destruction_approve(user=officer2, batch_id=batch.pk)
    assert destruction.destruction_run(batch_id=batch.pk, ran_by="test")
    client = Client.objects.get(pk=case.client_id)
    assert (client.processing_stopped, client.phone) == (ProcessingStop.DESTROYED, "")


def test_a_referral_reaching_another_organization_writes_the_provision_ledger_and_the_ledger_is_never_edited(
    counselor, officer, api_for
):
    case = case_with_consent(counselor)
    # Within the organization (the center's own employment desk): no provision.
    own = referral_services.referral_create(by=counselor, case_id=case.pk, service_code="job_placement")
    own = referral_services.referral_route(referral_id=own.pk)
    assert own is not None and own.to_desk.code == "EW-SEOUL-GWANAK-EMP"
    assert not Provision.objects.exists()
    # To the microfinance desk in the building (another organization runs it), then, declined, re-routed.
    out = referral_services.referral_create(by=counselor, case_id=case.pk, service_code="credit_counseling")
    first = referral_services.referral_route(referral_id=out.pk)
    assert first is not None and first.to_desk.operator_kind == "microfinance"
    rows = api_for(counselor).get(f"/api/v1/clients/{case.client_id}/provisions/").json()
    assert len(rows) == 1
    row = rows[0]
    assert row["referral"] == out.pk and row["recipient_kind"] == "microfinance"
    assert first.to_desk.name in row["recipient"]
    for item in ("system", "recipient", "purpose", "legal_basis", "items", "at", "method", "limits"):
        assert row[item], item
    assert "성명" in row["items"]
    with pytest.raises(DatabaseError), transaction.atomic():
        Provision.objects.filter(pk=Provision.objects.get().pk).update(recipient="고쳐 씀")
    with pytest.raises(DatabaseError), transaction.atomic():
        Provision.objects.all().delete()
    # The officer exports the ledger; another center does not see this client's.
    # A download of personal data: it says why, and the reason is stored with one download record per client.
    refused = api_for(officer).get("/api/v1/privacy/provisions/")
    assert refused.status_code == 400 and "reason" in refused.json()
    export = api_for(officer).get("/api/v1/privacy/provisions/", {"reason": "감사 대응 자료"})
    assert export.status_code == 200 and first.to_desk.name in export.content.decode("utf-8-sig")
    record = PiiAccessLog.objects.filter(action="download", user=officer).get()
    assert (record.client_id, record.reason, record.view) == (
        case.client_id,
        "감사 대응 자료",
        "privacy:provisions_export",
    )
    assert api_for(counselor).get("/api/v1/privacy/provisions/", {"reason": "x"}).status_code == 403


def test_a_re_route_after_a_decline_is_a_second_provision(counselor, make_staff):
    case = case_with_consent(counselor)
    out = referral_services.referral_create(by=counselor, case_id=case.pk, service_code="credit_counseling")
    first = referral_services.referral_route(referral_id=out.pk)
    assert first is not None
    desk_staff = make_staff("counselor", first.to_desk.center.code, username="desk_staff")
    referral_services.referral_decline(referral_id=out.pk, by=desk_staff, reason="no_capacity")
    second = referral_services.referral_route(referral_id=out.pk)
    assert second is not None and second.to_desk_id != first.to_desk_id
    ledger = list(Provision.objects.filter(referral_id=out.pk).order_by("at", "pk"))
    assert [p.recipient_center_id for p in ledger] == [first.to_center_id, second.to_center_id]


def test_the_officers_and_the_centers_managers_are_alerted_once_before_a_request_falls_due(
    counselor, manager, officer, make_staff, api_for
):
    case = case_with_consent(counselor)
    make_staff("center_manager", "EW-BUSAN-SAHA", username="busan_manager")
    old = (timezone.now() - dt.timedelta(days=8)).isoformat()
    _request(api_for(counselor), case.client_id, "access", received_at=old)
    _request(api_for(counselor), case.client_id, "correction")  # due in 10 days: not yet
    assert requests_alert_due() == 2
    alerted = Notification.objects.filter(kind="privacy_request_due")
    assert sorted(alerted.values_list("user__username", flat=True)) == sorted([manager.username, officer.username])
    assert requests_alert_due() == 0
