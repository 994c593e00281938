"""Permission history (safeguard notice §5③): every grant, change and removal of a role, center, active flag
or second factor — by the services, commands and the Django admin — with who, when, before and after."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.test import Client as PageClient
from django.urls import reverse
from django_otp.oath import totp

from centers.models import PermissionChange, StaffProfile
from centers.permission_history import permission_history_purge
from centers.services import staff_create_or_update, staff_totp_begin, staff_totp_confirm, staff_totp_remove
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _changes(user: Any) -> list[tuple[str, str, str, str, str]]:
    return [
        (c.field, c.before, c.after, c.actor_username, c.via)
        for c in PermissionChange.objects.filter(subject_username=user.get_username()).order_by("pk")
    ]


def test_creating_and_changing_staff_through_the_service_is_recorded(directory):
    user, _ = staff_create_or_update(
        username="history_a",
        password=PASSWORD,
        role="counselor",
        center_code="EW-SEOUL-GWANAK",
        check_password_strength=False,
    )
    assert _changes(user) == [
        ("role", "", "counselor", "", "command"),
        ("center", "", "EW-SEOUL-GWANAK", "", "command"),
    ]
    staff_create_or_update(
        username="history_a",
        password=PASSWORD,
        role="center_manager",
        center_code="MF-SEOUL-GWANAK",
        check_password_strength=False,
    )
    assert _changes(user)[2:] == [
        ("role", "counselor", "center_manager", "", "command"),
        ("center", "EW-SEOUL-GWANAK", "MF-SEOUL-GWANAK", "", "command"),
    ]
    # Saving with nothing changed records nothing.
    staff_create_or_update(
        username="history_a",
        password=PASSWORD,
        role="center_manager",
        center_code="MF-SEOUL-GWANAK",
        check_password_strength=False,
    )
    assert len(_changes(user)) == 4


def test_the_create_staff_command_is_recorded(directory):
    call_command(
        "create_staff",
        "--username",
        "history_cmd",
        "--role",
        "ministry",
        "--password",
        PASSWORD + "x9!Q",
        "--email",
        "a@b.kr",
    )
    assert ("role", "", "ministry", "", "command") in [
        (c.field, c.before, c.after, c.actor_username, c.via) for c in PermissionChange.objects.all()
    ]


def test_the_second_factor_enrolment_and_removal_are_recorded(manager):
    device = staff_totp_begin(user=manager)
    assert not [c for c in _changes(manager) if c[0] == "second_factor"]  # not confirmed yet: no factor
    staff_totp_confirm(user=manager, token=str(totp(device.bin_key)).zfill(6))
    staff_totp_remove(user=manager)
    assert [c[:3] for c in _changes(manager) if c[0] == "second_factor"] == [
        ("second_factor", "no", "yes"),
        ("second_factor", "yes", "no"),
    ]


def _admin_post_data(response: Any) -> dict[str, Any]:
    """The admin change form's own current values (the user form and its staff profile inline), as POST data."""
    data: dict[str, Any] = {}
    form = response.context["adminform"].form
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or field.disabled:
            continue
        if isinstance(value, dt.datetime):
            data[f"{name}_0"], data[f"{name}_1"] = value.date().isoformat(), value.time().isoformat()
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = getattr(value, "pk", value)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for key, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{key}"] = value
        for sub in formset.forms:
            for name, field in sub.fields.items():
                value = sub.initial.get(name, field.initial)
                if value is None:
                    continue
                key = sub.add_prefix(name)
                if isinstance(value, list | tuple):
                    data[key] = [getattr(v, "pk", v) for v in value]
                else:
                    data[key] = getattr(value, "pk", value)
    return data


def test_every_permission_change_made_through_the_admin_appears_in_the_history(
    directory, make_staff, admin_user_staff, settings
):
    settings.AXES_ENABLED = False
    target = make_staff("counselor", "EW-SEOUL-GWANAK", username="history_target")
    PermissionChange.objects.all().delete()
    browser = PageClient()
    browser.force_login(admin_user_staff)
    url = reverse("admin:auth_user_change", args=[target.pk])
    data = _admin_post_data(browser.get(url))
    data.pop("is_active", None)  # deactivate
    profile_prefix = next(k for k in data if k.endswith("-0-role")).removesuffix("role")
    data[f"{profile_prefix}role"] = "center_manager"
    from centers.models import Center

    data[f"{profile_prefix}center"] = Center.objects.get(code="MF-SEOUL-GWANAK").pk
    resp = browser.post(url, data)
    assert resp.status_code == 302, resp.context["adminform"].form.errors if resp.context else resp
    assert StaffProfile.objects.get(user=target).role == "center_manager"
    got = {(c.field, c.before, c.after, c.actor_username, c.via) for c in PermissionChange.objects.all()}
    assert got == {
        ("active", "yes", "no", "sysadmin", "admin"),
        ("role", "counselor", "center_manager", "sysadmin", "admin"),
        ("center", "EW-SEOUL-GWANAK", "MF-SEOUL-GWANAK", "sysadmin", "admin"),
    }
    # Deleting the account in the admin records the removal of its role and center.
    resp = browser.post(reverse("admin:auth_user_delete", args=[target.pk]), {"post": "yes"})
    assert resp.status_code == 302
    removed = {(c.field, c.before, c.after, c.subject_username) for c in PermissionChange.objects.filter(after="")}
    assert removed == {
        ("role", "center_manager", "", "history_target"),
        ("center", "MF-SEOUL-GWANAK", "", "history_target"),
    }


def test_the_history_page_shows_changes_in_korean_to_the_privacy_officer_and_admin(
    directory, make_staff, admin_user_staff, counselor
):
    officer = make_staff("privacy_officer", None, username="history_officer")
    staff_create_or_update(
        username="ew_counselor", password=PASSWORD, role="center_manager", center_code="EW-SEOUL-GWANAK",
        check_password_strength=False,
    )  # fmt: skip
    counselor.refresh_from_db()  # the service set the password again
    for user, status in ((officer, 200), (admin_user_staff, 200), (counselor, 403)):
        browser = PageClient()
        browser.force_login(user)
        resp = browser.get(reverse("retention:permission_history"), {"user": "ew_counselor"})
        assert resp.status_code == status
        if status == 200:
            text = resp.content.decode()
            assert "권한 변경 이력" in text and "상담사" in text and "센터장·팀장" in text
            assert "명령 또는 시스템" in text


def test_changes_are_kept_three_years(directory, make_staff):
    with time_machine.travel(dt.datetime(2022, 11, 1, 9, 0, tzinfo=dt.UTC)):
        make_staff("ministry", None, username="history_old")
    with time_machine.travel(dt.datetime(2024, 1, 1, 9, 0, tzinfo=dt.UTC)):
        make_staff("ministry", None, username="history_newer")
    with time_machine.travel(dt.datetime(2025, 12, 1, 9, 0, tzinfo=dt.UTC)):
        assert permission_history_purge() == 1
    assert set(PermissionChange.objects.values_list("subject_username", flat=True)) == {"history_newer"}
