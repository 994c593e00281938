import pytest
from rest_framework import serializers
from rest_framework.test import APIClient

import cases.api
import centers.api
import referral.api
from core.api import ModelSerializer

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/api/v1/centers/", "/api/v1/desks/", "/api/v1/services/"])
def test_directory_api_needs_authentication(directory, path):
    response = APIClient().get(path)
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.sqlite
def test_token_login_then_list_centers_filtered_by_kind(directory, counselor):
    client = APIClient()
    bad = client.post("/api/v1/auth/token/", {"username": counselor.username, "password": "nope"}, format="json")
    assert bad.status_code == 400
    token = client.post(
        "/api/v1/auth/token/",
        {"username": counselor.username, "password": "correct-horse-battery-staple-42"},
        format="json",
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    data = client.get("/api/v1/centers/?kind=microfinance&page_size=500").json()
    assert data["count"] == 13
    first = data["results"][0]
    assert {"id", "code", "name", "name_en", "kind", "region", "address", "latitude", "longitude"} <= first.keys()
    assert all(c["kind"] == "microfinance" for c in data["results"])


def test_bad_token_is_401(directory):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/centers/").status_code == 401


def test_desks_filter_by_center_domain_and_outreach(api_for, counselor):
    api = api_for(counselor)
    data = api.get("/api/v1/desks/?center=EW-SEOUL-GWANAK&outreach=true").json()
    assert data["count"] == 1
    desk = data["results"][0]
    assert desk["domain"] == "finance" and desk["operator_kind"] == "microfinance"
    assert sorted(desk["services"]) == ["credit_counseling", "policy_microloan"]
    assert desk["open_referrals"] == 0 and desk["capacity"] == 12
    assert api.get("/api/v1/desks/?domain=welfare&page_size=500").json()["count"] == 19
    assert api.get("/api/v1/desks/?domain=spaceship").status_code == 400


def test_services_list_outcome_codes(api_for, ministry_user):
    data = api_for(ministry_user).get("/api/v1/services/").json()
    codes = {s["code"]: s for s in data["results"]}
    assert "debt_adjustment" in codes
    assert "workout_agreed" in codes["debt_adjustment"]["outcomes"]


def test_page_size_is_capped(api_for, counselor):
    data = api_for(counselor).get("/api/v1/desks/?page_size=100000").json()
    assert len(data["results"]) == 83


def test_schema_and_docs_are_served_without_a_cdn(client, counselor):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/centers/" in schema.content
    client.force_login(counselor)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "cdn" not in html.lower() and "unpkg" not in html.lower()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html


def _model_serializers() -> list[type]:
    assert cases.api and centers.api and referral.api  # their serializers subclass ModelSerializer on import
    found: list[type] = []
    todo: list[type] = [ModelSerializer]
    while todo:
        cls = todo.pop()
        found.extend(cls.__subclasses__())
        todo.extend(cls.__subclasses__())
    return [c for c in found if hasattr(c, "Meta")]


def test_model_serializers_hand_out_the_fields_drf_builds_a_fresh_copy_each():
    classes = _model_serializers()
    assert len(classes) >= 10
    for cls in classes:
        drf = serializers.ModelSerializer.get_fields(cls())
        first, second = cls().get_fields(), cls().get_fields()
        assert {k: repr(v) for k, v in first.items()} == {k: repr(v) for k, v in drf.items()}, cls
        assert {k: repr(v) for k, v in second.items()} == {k: repr(v) for k, v in drf.items()}, cls
        assert all(first[k] is not second[k] for k in first), cls
