"""Hostile input on the existing forms and endpoints: a 4xx or a field error, never a 500, always escaped."""

from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

HOSTILE = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "'; DROP TABLE centers_center; --",
    "\x00nul",
    "tab\tnew\nline\rcr\x1b[31m\x07",
    "\u202eevil\u200b",  # bidi override and zero-width space
    "관악\u0410\u0412",  # mixed Hangul and Cyrillic
    "\U0001f600" * 50,
    "x" * 10_000,
]


@pytest.fixture
def raw_client(client):
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize("value", HOSTILE)
def test_login_page_answers_hostile_credentials_with_an_error_and_escapes_them(raw_client, directory, value):
    response = raw_client.post("/accounts/login/", {"username": value, "password": value}, HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    if "\x00" in value:  # config.middleware refuses NUL in any form value
        assert response.status_code == 400
        return
    assert response.status_code == 200
    assert 'role="alert"' in html
    assert "<script>alert" not in html
    assert "onerror=alert" not in html.replace("onerror=alert(1)&gt;", "")
    assert "_auth_user_id" not in raw_client.session


@pytest.mark.parametrize("value", ["x" * 10_000, "<b>admin</b>"])
def test_admin_login_answers_hostile_credentials_with_an_error(raw_client, directory, value):
    response = raw_client.post("/admin/login/", {"username": value, "password": "pw"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "errornote" in response.content.decode() or "errorlist" in response.content.decode()
    assert "<b>admin</b>" not in response.content.decode()


@pytest.mark.parametrize("value", HOSTILE)
def test_token_api_answers_hostile_credentials_with_400(directory, value):
    response = APIClient().post("/api/v1/auth/token/", {"username": value, "password": value}, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "{",
        json.dumps({"username": ["a"], "password": {"b": 1}}),
        json.dumps({"username": None, "password": None}),
        json.dumps({"username": 1e308, "password": True}),
        json.dumps([1, 2, 3]),
        json.dumps({}),
        json.dumps({"username": "\ud800", "password": "x"}),  # a lone surrogate, escaped in JSON
    ],
)
def test_token_api_answers_malformed_json_with_400(directory, body):
    response = APIClient().post("/api/v1/auth/token/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()


def test_token_api_refuses_an_oversized_body_without_a_500(directory):
    response = APIClient().post("/api/v1/auth/token/", {"username": "u" * 3_000_000, "password": "p"}, format="json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("value", HOSTILE)
def test_directory_filters_ignore_hostile_values_and_render_escaped(raw_client, counselor, value):
    raw_client.force_login(counselor)
    response = raw_client.get("/directory/", {"kind": value, "region": value})
    assert response.status_code in (200, 400)
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/centers/?kind=<script>",
        "/api/v1/centers/?region=%27%20OR%201%3D1--",
        "/api/v1/centers/?region=%00",
        "/api/v1/centers/?page=-1",
        "/api/v1/centers/?page=99999999999999999999",
        "/api/v1/centers/?page_size=999999999999",
        "/api/v1/centers/99999999999999999999999/",
        "/api/v1/centers/%00/",
        "/api/v1/desks/?center=%C2%B2",
        "/api/v1/desks/?center=99999999999999999999999",
        "/api/v1/desks/?outreach=maybe",
        "/api/v1/desks/?domain=%3Cb%3E",
        "/api/v1/desks/?service=%27%3B--",
        "/api/v1/services/%00/",
        "/api/v1/services/%E2%80%AE/",
        "/api/v1/services/?domain=%00",
    ],
)
def test_api_filters_and_lookups_answer_hostile_values_with_a_clear_4xx_or_an_empty_result(counselor, url):
    api = APIClient()
    api.raise_request_exception = False
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=counselor).key}")
    response = api.get(url)
    assert response.status_code < 500, response.content[:300]
    if response.status_code >= 400:
        assert "detail" in response.json() or response.status_code == 400


def test_a_nul_byte_in_the_query_string_is_a_400_not_a_database_error(raw_client, counselor):
    raw_client.force_login(counselor)
    assert raw_client.get("/directory/?region=%00").status_code == 400
    response = raw_client.get("/api/v1/desks/?center=%00")
    assert response.status_code == 400
    assert "NUL" in response.json()["detail"]


def test_password_change_form_refuses_control_characters_and_oversized_input(raw_client, counselor):
    raw_client.force_login(counselor)
    response = raw_client.post(
        "/accounts/password/",
        {"old_password": "\x00", "new_password": "y" * 300, "new_password_again": "y" * 300},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400  # NUL refused before the form
    response = raw_client.post(
        "/accounts/password/",
        {"old_password": "\x1b[31m", "new_password": "y" * 300, "new_password_again": "y" * 300},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "new_password" in form.errors
    counselor.refresh_from_db()
    assert counselor.check_password(PASSWORD)


def test_an_unknown_api_url_answers_json_404(counselor):
    api = APIClient()
    api.force_authenticate(counselor)
    response = api.get("/api/v1/centers/./")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
