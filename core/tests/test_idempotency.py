"""API.md: every POST honours `Idempotency-Key`: a repeat answers the first answer and writes nothing."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from cases.models import Client
from core.idempotency import idempotency_purge
from core.models import IdempotencyRecord
from referral.models import Referral
from referral.tests.factories import case_with_consent

pytestmark = pytest.mark.django_db

CLIENTS = "/api/v1/clients/"


def _token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return api


def _register(api: APIClient, key: str | None, name: str = "이중등록", phone: str = "010-5555-0101"):
    payload = {"name": name, "birth_date": "1980-05-05", "phone": phone}
    if key is None:
        return api.post(CLIENTS, payload, format="json")
    return api.post(CLIENTS, payload, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_a_replayed_post_answers_the_first_answer_and_creates_nothing(counselor):
    api = _token_client(counselor)
    first = _register(api, "k-1")
    assert first.status_code == 201, first.content
    again = _register(api, "k-1")
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Client.objects.filter(name="이중등록").count() == 1


def test_without_a_key_the_same_post_is_a_duplicate_client(counselor):
    api = _token_client(counselor)
    assert _register(api, None).status_code == 201
    second = _register(api, None)
    assert second.status_code == 409 and second.json()["code"] == "duplicate_client"


def test_the_same_key_with_another_body_is_422_and_writes_nothing(counselor):
    api = _token_client(counselor)
    assert _register(api, "k-2").status_code == 201
    other = _register(api, "k-2", name="다른사람", phone="010-5555-0202")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_mismatch"
    assert not Client.objects.filter(name="다른사람").exists()


def test_keys_belong_to_their_user(counselor, make_staff):
    colleague = make_staff("counselor", "EW-SEOUL-GWANAK")
    assert _register(_token_client(counselor), "shared").status_code == 201
    # Same key, another user: their own request runs (and is a duplicate of the first client, as without a key).
    theirs = _register(_token_client(colleague), "shared", name="동료등록", phone="010-5555-0303")
    assert theirs.status_code == 201 and theirs.json()["name"] == "동료등록"


def test_a_repeat_while_the_first_still_runs_is_409(counselor):
    first_hash_holder = _register(_token_client(counselor), "k-3")
    record = IdempotencyRecord.objects.get(key="k-3")
    IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=None)  # as if still running
    resp = _register(_token_client(counselor), "k-3")
    assert first_hash_holder.status_code == 201
    assert resp.status_code == 409 and resp.json()["code"] == "idempotency_in_progress"


@pytest.mark.parametrize("key", ["", "   ", "x" * 201, "bad\nkey"])
def test_a_malformed_key_is_400(counselor, key):
    resp = _register(_token_client(counselor), key)
    assert resp.status_code == 400
    assert not Client.objects.filter(name="이중등록").exists()


def test_a_key_is_forgotten_after_24_hours(counselor):
    api = _token_client(counselor)
    assert _register(api, "k-4").status_code == 201
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        # Past the window the key is free: the request runs again (and meets the first client).
        assert _register(api, "k-4").json()["code"] == "duplicate_client"
        assert idempotency_purge() == 0  # the key now holds that second answer
    assert idempotency_purge(now=timezone.now() + dt.timedelta(hours=50)) == 1
    assert not IdempotencyRecord.objects.exists()


def test_session_logged_in_pages_api_calls_are_covered_too(counselor, django_capture_on_commit_callbacks):
    case = case_with_consent(counselor)
    api = APIClient()
    api.force_login(counselor)
    payload = {"case": case.pk, "service": "policy_microloan"}
    with django_capture_on_commit_callbacks(execute=True):
        first = api.post("/api/v1/referrals/", payload, format="json", HTTP_IDEMPOTENCY_KEY="send-1")
        again = api.post("/api/v1/referrals/", payload, format="json", HTTP_IDEMPOTENCY_KEY="send-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert Referral.objects.filter(case=case).count() == 1


def test_an_error_answer_is_replayed_as_well(counselor):
    api = _token_client(counselor)
    bad = api.post(CLIENTS, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert bad.status_code == 400
    assert api.post(CLIENTS, {"name": ""}, format="json", HTTP_IDEMPOTENCY_KEY="k-5").json() == bad.json()
