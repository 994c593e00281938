"""The floor of every authenticated page (DESIGN.md "Performance targets": ≤ 4 queries before any work):
the user with profile and center; once a minute also the session save (inside its transaction's BEGIN and
COMMIT), which pushes the idle timeout on (core.sessions.SessionMiddleware)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from referral.models import Notification
from referral.notifications import notification_mark_read, notifications_add

pytestmark = pytest.mark.django_db


def _statements(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    # The test's transaction turns the session save's own transaction into a savepoint: not a query of the page.
    return [q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]


def test_a_page_that_reads_no_data_costs_the_user_and_the_session_save_once_a_minute(client, counselor):
    import datetime as dt

    import time_machine

    with time_machine.travel(dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC), tick=False) as traveller:
        client.force_login(counselor)
        client.get("/accounts/password/")  # the badge's count is cached by the first page
        # The session is read through the cache (cached_db) and was saved by the page before: one query.
        statements = _statements(client, "/accounts/password/")
        assert len(statements) == 1, statements
        # One query for the user with the staff profile and its center the header shows.
        (user,) = statements
        assert user.startswith('SELECT "auth_user"') and '"centers_staffprofile"' in user
        assert '"centers_center"' in user
        # A minute on, the page also saves the session to the database (the idle timeout moves on), and the
        # badge's cached count, a minute old too, is read again: still within the floor's four.
        traveller.shift(dt.timedelta(seconds=61))
        statements = _statements(client, "/accounts/password/")
        assert len(statements) == 3, statements
        assert statements[0].startswith('SELECT "auth_user"') and '"referral_notification"' in statements[1]
        assert statements[2].startswith('UPDATE "django_session"')


def test_the_badge_counts_a_new_notification_and_a_read_one_at_once(
    client, counselor, django_capture_on_commit_callbacks
):
    client.force_login(counselor)
    assert 'data-testid="unread-count"' not in client.get("/accounts/password/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        notifications_add([Notification(user_id=counselor.pk, kind="arrived", message="R1 도착")])
    page = client.get("/accounts/password/").content.decode()
    assert 'data-testid="unread-count"' in page
    with django_capture_on_commit_callbacks(execute=True):
        notification_mark_read(user_id=counselor.pk)
    assert 'data-testid="unread-count"' not in client.get("/accounts/password/").content.decode()


def test_a_manager_pays_no_second_factor_lookup_per_page_and_an_enrolment_is_seen_at_once(client, manager):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(manager)
    client.get("/accounts/password/")
    statements = _statements(client, "/accounts/password/")
    assert len(statements) == 1 and not any("otp_totp" in s for s in statements), statements
    # Enrolled (in another browser, say): this password-only session must now give the code.
    TOTPDevice.objects.create(user=manager, name="phone", confirmed=True)
    response = client.get("/accounts/password/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/otp/verify/")
