"""A page left open and polling does not keep its session alive; the poll after the timeout takes the page to
the login form (core.sessions)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.sessions.models import Session

pytestmark = pytest.mark.django_db

SEOUL = dt.timezone(dt.timedelta(hours=9))
POLL = {
    "HX-Request": "true",
    "HX-Target": "queue-table",
    "X-Yeongye-Poll": "1",
    "HX-Current-URL": "http://testserver/referrals/?status=open",
}
CLICK = {"HX-Request": "true", "HX-Current-URL": "http://testserver/referrals/"}


def _expiry(client) -> dt.datetime:
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_a_polling_queue_logs_out_thirty_minutes_after_the_last_real_request(client, manager):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(manager)
        assert client.get("/referrals/").status_code == 200
        expiry = _expiry(client)
        for _ in range(5):  # 25 minutes of the queue re-reading itself, nobody at the desk
            traveller.shift(dt.timedelta(minutes=5))
            poll = client.get("/referrals/", headers=POLL)
            assert poll.status_code == 200 and 'id="queue-table"' in poll.text
            assert "sessionid" not in poll.cookies  # the cookie is not renewed either
        assert _expiry(client) == expiry
        traveller.shift(dt.timedelta(minutes=6))  # 31 minutes after the last real request
        poll = client.get("/referrals/", headers=POLL)
    # The whole page goes to the login form, and comes back to the queue as it was filtered.
    assert poll.status_code == 200
    assert poll["HX-Redirect"] == "/accounts/login/?next=%2Freferrals%2F%3Fstatus%3Dopen"
    assert "queue-table" not in poll.text


def test_a_click_inside_a_live_section_is_activity(client, manager):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(manager)
        assert client.get("/referrals/").status_code == 200
        expiry = _expiry(client)
        traveller.shift(dt.timedelta(minutes=20))
        # htmx without the poll mark (a filter, a button in a row): the session moves on.
        assert client.get("/referrals/", headers=CLICK).status_code == 200
        assert _expiry(client) == expiry + dt.timedelta(minutes=20)
        traveller.shift(dt.timedelta(minutes=20))
        assert client.get("/referrals/", headers=POLL).status_code == 200
        assert "HX-Redirect" not in client.get("/referrals/", headers=POLL)


def test_a_poll_without_htmx_or_a_post_is_not_taken_for_a_poll(client, manager):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(manager)
        assert client.get("/directory/").status_code == 200
        expiry = _expiry(client)
        traveller.shift(dt.timedelta(minutes=10))
        # The mark alone, without htmx's own header, is an ordinary request.
        assert client.get("/directory/", headers={"X-Yeongye-Poll": "1"}).status_code == 200
        assert _expiry(client) == expiry + dt.timedelta(minutes=10)


def test_an_htmx_request_after_the_timeout_never_names_another_site_as_next(client, manager):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(manager)
        assert client.get("/referrals/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        forged = {**POLL, "HX-Current-URL": "http://evil.example//evil.example/phish"}
        response = client.get("/referrals/", headers=forged)
    assert response["HX-Redirect"] == "/accounts/login/"


def test_a_plain_request_after_the_timeout_still_gets_the_ordinary_redirect(client, manager):
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(manager)
        assert client.get("/referrals/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        response = client.get("/referrals/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_activity_saves_the_session_once_a_minute_not_on_every_request(client, manager):
    """Every page and API call wrote the session row (BEGIN, UPDATE, COMMIT); now a minute's requests write it
    once, and the idle timeout still counts from the last real request to within that minute."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = dt.datetime(2026, 12, 7, 10, 0, tzinfo=SEOUL)
    with time_machine.travel(start, tick=False) as traveller:
        client.force_login(manager)
        assert client.get("/referrals/").status_code == 200
        key = client.session.session_key
        saved = Session.objects.get(session_key=key).expire_date
        traveller.shift(dt.timedelta(seconds=30))
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/referrals/").status_code == 200
        assert not [q for q in queries.captured_queries if "django_session" in q["sql"]]
        assert Session.objects.get(session_key=key).expire_date == saved
        traveller.shift(dt.timedelta(seconds=31))  # the last save is a minute old: this request pushes it on
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/referrals/").status_code == 200
        assert [q for q in queries.captured_queries if q["sql"].startswith("UPDATE") and "django_session" in q["sql"]]
        assert Session.objects.get(session_key=key).expire_date == saved + dt.timedelta(seconds=61)
        # 29 minutes after the last request (30 minutes and 31 seconds after the one before): still signed in.
        traveller.shift(dt.timedelta(minutes=29, seconds=30))
        assert client.get("/referrals/").status_code == 200
        traveller.shift(dt.timedelta(minutes=31))
        assert client.get("/referrals/").status_code == 302


def test_logging_out_leaves_no_session_behind(client, manager):
    """The minute's bookkeeping goes into sessions in use only: a session flushed at logout is deleted, not saved
    again as an anonymous one holding that bookkeeping."""
    client.force_login(manager)
    assert client.get("/referrals/").status_code == 200
    assert Session.objects.count() == 1
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert Session.objects.count() == 0
    assert response.cookies["sessionid"].value == ""
