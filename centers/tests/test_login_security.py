"""Login hardening: argon2 hashes, lockout for page and token logins, idle expiry, password change."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

SEOUL = dt.timezone(dt.timedelta(hours=9))


def _fail_page_login(client, username: str, times: int):
    response = None
    for _ in range(times):
        response = client.post(
            "/accounts/login/", {"username": username, "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="en"
        )
    return response


def test_stored_password_is_an_argon2_hash(counselor):
    stored = get_user_model().objects.get(pk=counselor.pk).password
    assert stored.startswith("argon2$argon2id$")
    assert PASSWORD not in stored


def test_page_login_locks_the_account_after_five_failures_even_for_the_right_password(client, counselor, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    response = _fail_page_login(client, counselor.username, 4)
    assert response.status_code == 200  # still the login form, with an error
    response = _fail_page_login(client, counselor.username, 1)
    assert response.status_code == 429
    assert "Account locked" in response.content.decode()
    response = client.post(
        "/accounts/login/", {"username": counselor.username, "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_page_lockout_is_lifted_after_the_cooloff(client, counselor):
    start = dt.datetime(2026, 3, 2, 10, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        _fail_page_login(client, counselor.username, 5)
        assert (
            client.post("/accounts/login/", {"username": counselor.username, "password": PASSWORD}).status_code == 429
        )
        traveller.shift(dt.timedelta(minutes=16))
        response = client.post("/accounts/login/", {"username": counselor.username, "password": PASSWORD})
        assert response.status_code == 302
        assert client.session["_auth_user_id"] == str(counselor.pk)


def test_token_login_locks_after_five_failures_with_a_429_and_a_detail(counselor):
    api = APIClient()
    for _ in range(4):
        response = api.post("/api/v1/auth/token/", {"username": counselor.username, "password": "nope"}, format="json")
        assert response.status_code == 400
        assert "non_field_errors" in response.json()
    response = api.post("/api/v1/auth/token/", {"username": counselor.username, "password": "nope"}, format="json")
    assert response.status_code == 429
    assert "locked" in response.json()["detail"]
    assert int(response["Retry-After"]) == 15 * 60
    # The right password does not get through while locked.
    response = api.post("/api/v1/auth/token/", {"username": counselor.username, "password": PASSWORD}, format="json")
    assert response.status_code == 429
    assert response.json()["code"] == "locked"
    assert not Token.objects.filter(user=counselor).exists()


def test_failed_token_logins_also_lock_the_login_page(client, counselor):
    api = APIClient()
    for _ in range(5):
        api.post("/api/v1/auth/token/", {"username": counselor.username, "password": "nope"}, format="json")
    response = client.post("/accounts/login/", {"username": counselor.username, "password": PASSWORD})
    assert response.status_code == 429


def test_successful_token_login_returns_a_token_that_authenticates(counselor):
    api = APIClient()
    response = api.post("/api/v1/auth/token/", {"username": counselor.username, "password": PASSWORD}, format="json")
    assert response.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    assert api.get("/api/v1/services/").status_code == 200


def test_session_expires_after_thirty_idle_minutes_but_activity_keeps_it_alive(client, counselor, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(counselor)
        assert client.get("/directory/").status_code == 200
        for _ in range(3):  # 87 minutes of steady work: each request renews the session
            traveller.shift(dt.timedelta(minutes=29))
            assert client.get("/directory/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/directory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_password_change_logs_out_every_other_session_and_revokes_the_api_token(client, counselor):
    other_browser = type(client)()
    other_browser.force_login(counselor)
    assert other_browser.get("/directory/").status_code == 200
    token = Token.objects.create(user=counselor)
    client.force_login(counselor)

    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password": "a-much-newer-passphrase-77",
            "new_password_again": "a-much-newer-passphrase-77",
        },
    )
    assert response.status_code == 302
    assert client.get("/directory/").status_code == 200  # this browser stays logged in
    response = other_browser.get("/directory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Token.objects.filter(pk=token.pk).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.get("/api/v1/services/").status_code == 401
    counselor.refresh_from_db()
    assert counselor.check_password("a-much-newer-passphrase-77")


def test_password_change_with_a_wrong_current_password_shows_a_field_error_and_changes_nothing(client, counselor):
    client.force_login(counselor)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "wrong",
            "new_password": "a-much-newer-passphrase-77",
            "new_password_again": "a-much-newer-passphrase-77",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert "Your current password was entered incorrectly." in response.content.decode()
    counselor.refresh_from_db()
    assert counselor.check_password(PASSWORD)


@pytest.mark.parametrize(
    ("new", "again", "message"),
    [
        ("short", "short", "too short"),
        ("12345678901234", "12345678901234", "entirely numeric"),
        ("a-much-newer-passphrase-77", "something-else-entirely-88", "do not match"),
    ],
)
def test_password_change_refuses_weak_or_mismatched_passwords(client, counselor, new, again, message):
    client.force_login(counselor)
    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password": new, "new_password_again": again},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    counselor.refresh_from_db()
    assert counselor.check_password(PASSWORD)


def test_wrong_current_password_is_explained_in_korean(client, counselor):
    client.force_login(counselor)
    response = client.post(
        "/accounts/password/",
        {
            "old_password": "wrong",
            "new_password": "a-much-newer-passphrase-77",
            "new_password_again": "a-much-newer-passphrase-77",
        },
        HTTP_ACCEPT_LANGUAGE="ko",
    )
    assert "현재 비밀번호가 올바르지 않습니다." in response.content.decode()
