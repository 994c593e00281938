"""The admin site obeys the model invariants (desk hours, coordinates, staff roles) that the services obey."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model

from centers.models import Center, Desk, Role, Service, StaffProfile

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture
def admin_client_(client, admin_user_staff):
    client.force_login(admin_user_staff)
    return client


def _desk_data(center: Center, **overrides: str) -> dict[str, object]:
    data: dict[str, object] = {
        "code": "XX-NEW-DESK",
        "center": center.pk,
        "name": "새 창구",
        "domain": "finance",
        "operator_kind": "microfinance",
        "services": [Service.objects.get(code="debt_adjustment").pk],
        "open_days": "[0, 2, 4]",
        "opens_at": "09:00",
        "closes_at": "18:00",
        "capacity": "10",
        "slot_minutes": "30",
        "slot_places": "1",
        "active": "on",
        # The desk's closures inline (none here).
        "closures-TOTAL_FORMS": "0",
        "closures-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_admin_refuses_to_add_a_desk_that_closes_before_it_opens(admin_client_):
    center = Center.objects.get(code="EW-SEOUL-GWANAK")
    before = Desk.objects.count()
    response = admin_client_.post(
        "/admin/centers/desk/add/", _desk_data(center, opens_at="18:00", closes_at="09:00"), **EN
    )
    assert response.status_code == 200
    assert "The desk must open before it closes" in response.content.decode()
    assert Desk.objects.count() == before
    # The same form with sensible hours is saved: the refusal above was the hours and nothing else.
    response = admin_client_.post("/admin/centers/desk/add/", _desk_data(center), **EN)
    assert response.status_code == 302
    assert Desk.objects.get(code="XX-NEW-DESK").closes_at == dt.time(18, 0)


def test_admin_refuses_to_change_a_desk_to_bad_hours_or_weekdays(admin_client_):
    desk = Desk.objects.select_related("center").order_by("pk").first()
    url = f"/admin/centers/desk/{desk.pk}/change/"
    base = _desk_data(desk.center, code=desk.code, name=desk.name)
    for overrides, message in (
        ({"opens_at": "10:00", "closes_at": "10:00"}, "The desk must open before it closes"),
        ({"open_days": "[0, 7]"}, "Open days must be one or more weekdays"),
        ({"open_days": "[1, 1]"}, "Open days must be one or more weekdays"),
    ):
        response = admin_client_.post(url, {**base, **overrides}, **EN)
        assert response.status_code == 200, overrides
        assert message in response.content.decode()
    assert Desk.objects.get(pk=desk.pk).opens_at == desk.opens_at


def test_admin_refuses_a_center_outside_korea(admin_client_):
    center = Center.objects.select_related("region").get(code="EW-SEOUL-GWANAK")
    data = {
        "code": center.code,
        "name": center.name,
        "kind": center.kind,
        "region": center.region_id,
        "latitude": "51.5",
        "longitude": "-0.1",
        "active": "on",
        "desks-TOTAL_FORMS": "0",
        "desks-INITIAL_FORMS": "0",
        "desks-MIN_NUM_FORMS": "0",
        "desks-MAX_NUM_FORMS": "1000",
    }
    response = admin_client_.post(f"/admin/centers/center/{center.pk}/change/", data, **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "The latitude 51.5 is outside Korea" in html and "The longitude -0.1 is outside Korea" in html
    assert Center.objects.get(pk=center.pk).latitude == center.latitude


def _user_data(user, *, role: str, center: Center | None, is_staff: bool) -> dict[str, object]:
    profile = StaffProfile.objects.get(user=user)
    data: dict[str, object] = {
        "username": user.username,
        "email": user.email,
        "is_active": "on",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "staff-TOTAL_FORMS": "1",
        "staff-INITIAL_FORMS": "1",
        "staff-MIN_NUM_FORMS": "0",
        "staff-MAX_NUM_FORMS": "1",
        "staff-0-id": profile.pk,
        "staff-0-user": user.pk,
        "staff-0-role": role,
        "staff-0-center": center.pk if center else "",
    }
    if is_staff:
        data["is_staff"] = "on"
    return data


@pytest.mark.parametrize(
    ("role", "center_code", "is_staff", "message"),
    [
        ("ministry", "EW-SEOUL-GWANAK", False, "not tied to a center"),
        ("counselor", None, False, "A counselor or center manager needs a center."),
        ("counselor", "EW-SEOUL-GWANAK", True, "Staff status (access to this admin site) goes with"),
        ("admin", None, False, "Staff status (access to this admin site) goes with"),
    ],
)
def test_admin_refuses_a_staff_profile_that_breaks_the_role_rules(
    admin_client_, counselor, role, center_code, is_staff, message
):
    center = Center.objects.get(code=center_code) if center_code else None
    url = f"/admin/auth/user/{counselor.pk}/change/"
    response = admin_client_.post(url, _user_data(counselor, role=role, center=center, is_staff=is_staff), **EN)
    assert response.status_code == 200
    assert message in response.content.decode()
    counselor.refresh_from_db()
    assert counselor.staff.role == Role.COUNSELOR and not counselor.is_staff


def test_admin_saves_a_staff_profile_that_keeps_the_role_rules(admin_client_, counselor):
    other = Center.objects.get(code="MF-SEOUL-GWANAK")
    url = f"/admin/auth/user/{counselor.pk}/change/"
    response = admin_client_.post(url, _user_data(counselor, role="center_manager", center=other, is_staff=False), **EN)
    assert response.status_code == 302, response.content.decode()[:2000]
    counselor.refresh_from_db()
    assert (counselor.staff.role, counselor.staff.center) == (Role.CENTER_MANAGER, other)
    response = admin_client_.post(url, _user_data(counselor, role="admin", center=None, is_staff=True), **EN)
    assert response.status_code == 302
    assert get_user_model().objects.get(pk=counselor.pk).is_staff
