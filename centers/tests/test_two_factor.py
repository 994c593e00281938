"""Optional TOTP second factor for center managers and admins, checked with real codes from the device key."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from conftest import PASSWORD

pytestmark = pytest.mark.django_db

SEOUL = dt.timezone(dt.timedelta(hours=9))


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def _password_login(client, user):
    response = client.post("/accounts/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response


@pytest.fixture
def enrolled_manager(manager):
    TOTPDevice.objects.create(user=manager, name="authenticator", confirmed=True)
    return manager


def test_manager_enrols_by_scanning_a_qr_code_and_confirming_a_real_code(client, manager):
    client.force_login(manager)
    response = client.get("/accounts/otp/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert response.status_code == 200 and "Two-step login is off." in html
    assert 'name="action" value="start"' in html and 'class="qr"' not in html
    assert not TOTPDevice.objects.filter(user=manager).exists()  # viewing the page made nothing

    response = client.post("/accounts/otp/", {"action": "start"})
    assert response.status_code == 302
    response = client.get("/accounts/otp/", HTTP_ACCEPT_LANGUAGE="en")
    html = response.content.decode()
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+"', html)
    assert "Two-step login is off." in html
    device = TOTPDevice.objects.get(user=manager, confirmed=False)

    response = client.post("/accounts/otp/", {"action": "confirm", "token": "000000"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "That code is not valid" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    response = client.post("/accounts/otp/", {"action": "confirm", "token": code_for(device)}, follow=True)
    device.refresh_from_db()
    assert device.confirmed
    assert response.context["confirmed"] is True
    # The session that enrolled counts as verified: no second prompt right away.
    assert client.get("/directory/").status_code == 200


def test_viewing_the_setup_page_again_keeps_the_pending_key(client, manager):
    client.force_login(manager)
    client.post("/accounts/otp/", {"action": "start"})
    pending = TOTPDevice.objects.get(user=manager, confirmed=False)
    for _ in range(2):
        assert client.get("/accounts/otp/").status_code == 200
    assert list(TOTPDevice.objects.filter(user=manager).values_list("pk", "key")) == [(pending.pk, pending.key)]


def test_counselor_is_not_offered_a_second_factor(client, counselor):
    client.force_login(counselor)
    response = client.get("/accounts/otp/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=counselor).exists()


def test_enrolled_manager_must_enter_a_code_after_the_password(client, enrolled_manager):
    device = TOTPDevice.objects.get(user=enrolled_manager)
    _password_login(client, enrolled_manager)
    response = client.get("/directory/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/otp/verify/?next=/directory/")

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, 1, tzinfo=SEOUL), tick=False) as traveller:
        response = client.post("/accounts/otp/verify/?next=/directory/", {"token": "123456"}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 200
        assert "That code is not valid" in response.content.decode()
        assert client.get("/directory/").status_code == 302
        # A wrong code slows the next try down (django-otp throttling: 1 s, then 2 s, 4 s, ...).
        traveller.shift(dt.timedelta(seconds=2))
        response = client.post("/accounts/otp/verify/", {"token": code_for(device), "next": "/directory/"})
        assert response.status_code == 302
        assert response["Location"] == "/directory/"
        assert client.get("/directory/").status_code == 200


def test_a_used_code_cannot_be_replayed_in_another_browser(client, enrolled_manager):
    device = TOTPDevice.objects.get(user=enrolled_manager)
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, 5, tzinfo=SEOUL), tick=False):
        code = code_for(device)
        _password_login(client, enrolled_manager)
        assert client.post("/accounts/otp/verify/", {"token": code}).status_code == 302
        other = type(client)()
        _password_login(other, enrolled_manager)
        response = other.post("/accounts/otp/verify/", {"token": code})
        assert response.status_code == 200  # the form again, with an error
        assert other.get("/directory/").status_code == 302


def test_verify_page_ignores_an_offsite_next_url(client, enrolled_manager):
    device = TOTPDevice.objects.get(user=enrolled_manager)
    _password_login(client, enrolled_manager)
    response = client.post("/accounts/otp/verify/", {"token": code_for(device), "next": "https://evil.example/"})
    assert response.status_code == 302
    assert not response["Location"].startswith("https://evil")


def test_admin_site_requires_the_code_for_an_admin_with_a_device(client, admin_user_staff):
    device = TOTPDevice.objects.create(user=admin_user_staff, name="authenticator", confirmed=True)
    response = client.post("/admin/login/", {"username": admin_user_staff.username, "password": PASSWORD})
    assert response.status_code == 302
    response = client.get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/otp/verify/")
    client.post("/accounts/otp/verify/", {"token": code_for(device), "next": "/admin/"})
    assert client.get("/admin/").status_code == 200


def test_admin_without_a_device_reaches_the_admin_with_the_password_alone(client, admin_user_staff):
    client.post("/admin/login/", {"username": admin_user_staff.username, "password": PASSWORD})
    assert client.get("/admin/").status_code == 200


def test_unverified_session_gets_a_403_from_the_api(client, enrolled_manager):
    _password_login(client, enrolled_manager)
    response = client.get("/api/v1/services/")
    assert response.status_code == 403
    assert response.json()["code"] == "otp_required"


def test_token_login_for_an_enrolled_manager_needs_the_code_too(enrolled_manager):
    device = TOTPDevice.objects.get(user=enrolled_manager)
    api = APIClient()
    credentials = {"username": enrolled_manager.username, "password": PASSWORD}
    response = api.post("/api/v1/auth/token/", credentials, format="json")
    assert response.status_code == 400
    assert "otp_token" in response.json()
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, 1, tzinfo=SEOUL), tick=False) as traveller:
        response = api.post("/api/v1/auth/token/", {**credentials, "otp_token": "000000"}, format="json")
        assert response.status_code == 400
        traveller.shift(dt.timedelta(seconds=2))
        response = api.post("/api/v1/auth/token/", {**credentials, "otp_token": code_for(device)}, format="json")
    assert response.status_code == 200
    assert response.json()["token"]


def test_manager_can_turn_two_step_login_off(client, enrolled_manager):
    device = TOTPDevice.objects.get(user=enrolled_manager)
    _password_login(client, enrolled_manager)
    client.post("/accounts/otp/verify/", {"token": code_for(device)})
    response = client.post("/accounts/otp/", {"action": "remove"})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=enrolled_manager).exists()
    fresh = type(client)()
    _password_login(fresh, enrolled_manager)
    assert fresh.get("/directory/").status_code == 200
