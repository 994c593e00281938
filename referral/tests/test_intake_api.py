"""An intake through the API as a token client does it: client, consent, case, referral."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from referral.models import Referral

pytestmark = pytest.mark.django_db


def _token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def test_a_token_intake_creates_everything_with_a_fixed_small_number_of_queries(counselor):
    api = _token_client(counselor)
    counts = []

    def post(path: str, body: dict) -> dict:
        with CaptureQueriesContext(connection) as queries:
            resp = api.post(path, body, format="json")
        assert resp.status_code == 201, resp.content
        counts.append(len(queries))
        return resp.json()

    client = post("/api/v1/clients/", {"name": "토큰접수", "birth_date": "1980-01-02", "phone": "010-3100-4640"})
    post(
        f"/api/v1/clients/{client['id']}/consents/",
        {"purpose": "referral", "organization_kinds": ["employment_welfare", "microfinance"], "method": "electronic"},
    )
    case = post(
        "/api/v1/cases/",
        {"client": client["id"], "channel": "walk_in", "needs": [{"domain": "finance", "code": "policy_loan"}]},
    )
    assert case["needs"] == [{"domain": "finance", "code": "policy_loan", "note": ""}]
    assert case["client"] == client["id"] and case["status"] == "open"
    referral = post("/api/v1/referrals/", {"case": case["id"], "service": "policy_microloan"})
    assert referral["status"] == "requested" and referral["from_center"] == "EW-SEOUL-GWANAK"
    assert [e["kind"] for e in referral["events"]] == ["create"]
    assert Referral.objects.filter(pk=referral["id"], case_id=case["id"]).exists()
    # The answers are built from what the services wrote, not read back; they match a fresh read.
    assert api.get(f"/api/v1/referrals/{referral['id']}/").json() == referral
    detail = api.get(f"/api/v1/cases/{case['id']}/").json()
    assert detail == {**case, "notes": [], "referrals": detail["referrals"]}
    assert [(r["id"], r["service"], r["status"]) for r in detail["referrals"]] == [
        (referral["id"], referral["service"], "requested")
    ]
    # One token lookup with the staff profile joined (no second profile query, no password hash),
    # no savepoint for a client without an RRN, nothing read back for the case and referral answers
    # (case: insert case and needs; referral: case, service, desk kinds, consents, insert referral and event).
    # (In the test transaction BEGIN/COMMIT are savepoints; the post-commit work does not run here.)
    # Client: + the shared lock of the center's registrations (a partner batch takes it exclusively).
    # Referral: + the case row locked and the open-referral check (one open referral per case and service).
    # Each write: + its access record (safeguard notice §8①): the chain's lock, its head, the insert.
    assert counts == [10, 8, 9, 14], counts


def test_a_token_without_a_staff_profile_authenticates_and_gets_the_admin_answer(admin_user_staff):
    # An admin has no staff profile: authenticated (not 401), but no personal data (403).
    admin_user_staff.staff.delete()
    api = _token_client(admin_user_staff)
    assert api.get("/api/v1/services/").status_code == 200
    assert api.get("/api/v1/clients/").status_code == 403


def test_a_bad_or_inactive_token_is_401(counselor):
    api = _token_client(counselor)
    counselor.is_active = False
    counselor.save()
    assert api.get("/api/v1/referrals/").status_code == 401
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert stranger.get("/api/v1/referrals/").status_code == 401
