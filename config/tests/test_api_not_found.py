"""An unknown URL under /api/ answers JSON like every other API error; pages keep the HTML 404."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

UNKNOWN = ["/api/", "/api/v1/nope/", "/api/v1/nope", "/api/v2/centers/", "/api/v1/clients/1/nope/"]


# DEBUG on is the demo of `make run`, where Django renders its technical 404 page without handler404.
@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", UNKNOWN)
def test_an_unknown_api_path_answers_json_404(counselor, path, debug):
    api = APIClient()
    api.force_authenticate(counselor)
    with override_settings(DEBUG=debug):
        for response in (api.get(path, HTTP_ACCEPT_LANGUAGE="en"), api.post(path, {}, HTTP_ACCEPT_LANGUAGE="en")):
            assert response.status_code == 404
            assert response["Content-Type"] == "application/json"
            assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_an_unknown_api_path_answers_json_404_before_login():
    response = APIClient().get("/api/v1/nope/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_json_404_speaks_the_callers_language(counselor):
    api = APIClient()
    api.force_authenticate(counselor)
    assert api.get("/api/v1/nope/", HTTP_ACCEPT_LANGUAGE="ko").json()["detail"] == "찾을 수 없습니다."


def test_a_known_endpoint_without_its_slash_still_redirects(counselor):
    api = APIClient()
    api.force_authenticate(counselor)
    response = api.get("/api/v1/centers")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/centers/"


def test_the_apis_own_404_is_left_as_it_is(counselor):
    api = APIClient()
    api.force_authenticate(counselor)
    response = api.get("/api/v1/clients/999999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 404
    assert response.json()["detail"] == "No Client matches the given query."


@pytest.mark.parametrize("debug", [False, True])
def test_an_unknown_page_keeps_the_html_404(client, counselor, debug):
    client.force_login(counselor)
    with override_settings(DEBUG=debug):
        response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
