"""Per-user API throttling: a clear 429 with `detail` and Retry-After."""

from __future__ import annotations

import copy

import pytest
from django.conf import settings as django_settings
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_rates(settings):
    rest = copy.deepcopy(django_settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"].update({"user": "3/min", "anon": "2/min", "login": "4/min"})
    settings.REST_FRAMEWORK = rest


def token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return api


def test_a_user_over_the_rate_gets_429_with_detail_and_retry_after(low_rates, counselor):
    api = token_client(counselor)
    for _ in range(3):
        assert api.get("/api/v1/services/").status_code == 200
    response = api.get("/api/v1/centers/")
    assert response.status_code == 429
    body = response.json()
    assert "60" in body["detail"]  # a sentence saying when to retry (Korean by default)
    assert body["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60


def test_the_limit_is_per_user_so_a_colleague_is_not_slowed_down(low_rates, counselor, mf_counselor):
    api = token_client(counselor)
    for _ in range(4):
        api.get("/api/v1/services/")
    assert api.get("/api/v1/services/").status_code == 429
    assert token_client(mf_counselor).get("/api/v1/services/").status_code == 200


def test_token_logins_from_one_address_are_throttled(low_rates, counselor):
    api = APIClient()
    statuses = [
        api.post("/api/v1/auth/token/", {"username": f"nobody{i}", "password": "x"}, format="json").status_code
        for i in range(5)
    ]
    assert statuses[:2] == [400, 400]
    assert statuses[-1] == 429


def test_default_rates_come_from_the_environment_backed_settings():
    rates = django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert set(rates) >= {"user", "anon", "login"}
    assert all("/" in rate for rate in rates.values())
