import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from centers.models import Role

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-enough-passphrase-2026"


def run(*args: str) -> None:
    call_command("create_staff", *args)


def test_creates_a_counselor_of_a_center_who_can_log_in(directory):
    run("--username", "kim", "--password", PASSWORD, "--role", "counselor", "--center", "EW-SEOUL-GWANAK")
    user = get_user_model().objects.get(username="kim")
    assert user.check_password(PASSWORD)
    assert user.staff.role == Role.COUNSELOR
    assert user.staff.center.code == "EW-SEOUL-GWANAK"
    assert not user.is_staff and not user.is_superuser


def test_running_again_updates_role_center_and_password(directory):
    run("--username", "kim", "--password", PASSWORD, "--role", "counselor", "--center", "EW-SEOUL-GWANAK")
    run("--username", "kim", "--password", PASSWORD + "!", "--role", "center_manager", "--center", "MF-BUSAN")
    User = get_user_model()
    assert User.objects.filter(username="kim").count() == 1
    user = User.objects.get(username="kim")
    assert user.staff.role == Role.CENTER_MANAGER and user.staff.center.code == "MF-BUSAN"
    assert not user.check_password(PASSWORD)
    assert user.check_password(PASSWORD + "!")


@pytest.mark.parametrize("role", ["counselor", "center_manager"])
def test_center_roles_require_a_center(directory, role):
    with pytest.raises(CommandError, match="needs a center"):
        run("--username", "lee", "--password", PASSWORD, "--role", role)
    assert not get_user_model().objects.filter(username="lee").exists()


def test_unknown_center_is_a_clear_error(directory):
    with pytest.raises(CommandError, match="Unknown center code 'EW-NOWHERE'"):
        run("--username", "lee", "--password", PASSWORD, "--role", "counselor", "--center", "EW-NOWHERE")
    assert not get_user_model().objects.filter(username="lee").exists()


def test_unknown_role_is_a_clear_error(directory):
    with pytest.raises(CommandError, match="Unknown role 'boss'"):
        run("--username", "lee", "--password", PASSWORD, "--role", "boss", "--center", "EW-SEOUL-GWANAK")


def test_ministry_and_admin_have_no_center_and_admin_reaches_the_admin_site(directory, client):
    run("--username", "moel", "--password", PASSWORD, "--role", "ministry")
    with pytest.raises(CommandError, match="not tied to a center"):
        run("--username", "moel2", "--password", PASSWORD, "--role", "ministry", "--center", "EW-SEOUL-GWANAK")
    run("--username", "root", "--password", PASSWORD, "--role", "admin")
    admin = get_user_model().objects.get(username="root")
    assert admin.is_superuser and admin.staff.center is None
    client.force_login(admin)
    assert client.get("/admin/centers/center/?q=관악").status_code == 200
    ministry = get_user_model().objects.get(username="moel")
    client.force_login(ministry)
    assert client.get("/admin/").status_code == 302


def test_weak_password_is_refused(directory):
    with pytest.raises(CommandError, match="너무 짧습니다|too short"):
        run("--username", "weak", "--password", "1234", "--role", "ministry")
