"""The read replica against a real PostgreSQL streaming replica that the module starts itself: a base backup
of the test server (`pg_basebackup -R`) into a temporary folder, a second postmaster on a free port, stopped
and removed at the end. Statistics read the replica; everything else, and a user who just wrote, read the
primary; a replica too far behind, or stopped, sends the reads to the primary with a log line and a metric.

Runs in the serial lane (`-m worker`): it stops a server the others do not know of, and a base backup of a
server that eight xdist workers are writing to is slower than it needs to be.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from prometheus_client import REGISTRY

from core import replica
from core.tests.standby import Replica

# The `replica` alias exists for this module only (the standby fixture adds it); as a mirror of the primary
# it is left out of the flush after each test.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, databases=["default", "replica"])]


@pytest.fixture(scope="module")
def standby(django_db_setup, django_db_blocker) -> Iterator[Replica]:
    with django_db_blocker.unblock():
        r = Replica(dict(connections["default"].settings_dict))
        try:
            r.create()
            r.start()
            connections.settings[replica.REPLICA] = r.settings()  # the primary's settings, the standby's port
            yield r
        finally:
            if replica.REPLICA in connections.settings:
                connections[replica.REPLICA].close()
                del connections[replica.REPLICA]
                del connections.settings[replica.REPLICA]
            r.remove()


@pytest.fixture
def replica_db(standby: Replica, settings) -> Iterator[Replica]:
    """The `replica` alias pointing at the standby (started again if a test stopped it), checked afresh."""
    if not standby.running():
        standby.start()
    settings.REPLICA_CHECK_SECONDS = 0  # measure on every request: the tests change the replica under it
    settings.REPLICA_MAX_LAG_SECONDS = 30
    replica.forget_health()
    _sql(standby, "SELECT pg_wal_replay_resume()")
    yield standby
    connections[replica.REPLICA].close()
    replica.forget_health()


def _sql(standby: Replica, sql: str) -> object:
    """One statement on the replica over a connection of its own (the superuser's: replay pause/resume)."""
    import psycopg

    with psycopg.connect(host="127.0.0.1", port=standby.port, user="postgres", dbname="postgres") as conn:
        row = conn.execute(sql).fetchone()
        return row[0] if row else None


def _replica_has(username: str, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connections[replica.REPLICA].cursor() as cur:
            cur.execute("SELECT count(*) FROM auth_user WHERE username = %s", [username])
            if cur.fetchone()[0]:
                return True
        time.sleep(0.1)
    return False


def _fallbacks(reason: str) -> float:
    return REGISTRY.get_sample_value("yeongye_replica_fallbacks_total", {"reason": reason}) or 0.0


DASHBOARD = "/stats/?start=2026-01&end=2026-12&group=center"


def _get(client, url: str):
    """A GET with the queries each database saw."""
    with CaptureQueriesContext(connections["default"]) as primary:
        with CaptureQueriesContext(connections[replica.REPLICA]) as standby:
            response = client.get(url)
    stats_tables = ("stats_monthlycell", "stats_monthstate")
    on_primary = [q["sql"] for q in primary.captured_queries if any(t in q["sql"] for t in stats_tables)]
    on_replica = [q["sql"] for q in standby.captured_queries if "pg_is_in_recovery" not in q["sql"]]
    return response, on_primary, on_replica


def test_statistics_read_the_replica_and_everything_else_the_primary(replica_db, client, ministry_user):
    assert _replica_has(ministry_user.username)  # streamed from the primary
    client.force_login(ministry_user)
    response, stats_on_primary, on_replica = _get(client, DASHBOARD)
    assert response.status_code == 200
    assert on_replica and any("stats_monthlycell" in q for q in on_replica)
    assert stats_on_primary == []
    # The directory, like every page with people's or live data, reads the primary only.
    response, _, on_replica = _get(client, "/directory/")
    assert response.status_code == 200 and on_replica == []
    # The statistics API reads the replica too.
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=ministry_user)
    with CaptureQueriesContext(connections[replica.REPLICA]) as standby:
        api = client.get("/api/v1/stats/monthly/?from=2026-01&to=2026-12", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert api.status_code == 200
    assert any("stats_monthlycell" in q["sql"] for q in standby.captured_queries)


@pytest.mark.urls("core.tests.replica_urls")
def test_a_request_that_wrote_reads_the_primary_and_so_does_its_user_for_a_few_seconds(
    replica_db, client, ministry_user, make_staff, settings
):
    settings.REPLICA_PIN_SECONDS = 2
    colleague = make_staff("ministry", None, username="ministry-2")
    assert _replica_has(colleague.username)
    client.force_login(ministry_user)
    assert client.get("/replica-probe/").json() == {"before": "replica", "after": "replica"}
    # It wrote: the rest of the request reads the primary ...
    assert client.get("/replica-probe/?write=1").json() == {"before": "replica", "after": "default"}
    # ... and so do this user's next requests, for REPLICA_PIN_SECONDS; another user's do not.
    assert client.get("/replica-probe/").json() == {"before": "default", "after": "default"}
    response, stats_on_primary, on_replica = _get(client, DASHBOARD)
    assert response.status_code == 200 and on_replica == [] and stats_on_primary
    other = type(client)()
    other.force_login(colleague)
    assert other.get("/replica-probe/").json() == {"before": "replica", "after": "replica"}
    time.sleep(2.2)
    assert client.get("/replica-probe/").json() == {"before": "replica", "after": "replica"}


def test_a_replica_too_far_behind_sends_the_reads_to_the_primary(replica_db, client, ministry_user, settings, caplog):
    settings.REPLICA_MAX_LAG_SECONDS = 1
    client.force_login(ministry_user)
    assert _replica_has(ministry_user.username)
    _sql(replica_db, "SELECT pg_wal_replay_pause()")
    from centers.models import Center

    Center.objects.filter(code="EW-SEOUL-GWANAK").update(phone="02-000-0000")  # WAL the replica holds back
    time.sleep(1.5)
    before = _fallbacks("lag")
    response, stats_on_primary, on_replica = _get(client, DASHBOARD)
    assert response.status_code == 200 and on_replica == [] and stats_on_primary
    assert _fallbacks("lag") == before + 1
    assert any("replica" in r.getMessage() and "behind" in r.getMessage() for r in caplog.records)
    lag = REGISTRY.get_sample_value("yeongye_replica_lag_seconds")
    assert lag is not None and lag > 1
    # Replay resumes, the replica catches up, and the statistics read it again.
    _sql(replica_db, "SELECT pg_wal_replay_resume()")
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        response, stats_on_primary, on_replica = _get(client, DASHBOARD)
        if on_replica:
            break
        time.sleep(0.2)
    assert on_replica and stats_on_primary == []


def test_a_replica_stopped_mid_test_fails_no_request(replica_db, client, ministry_user, settings, caplog):
    client.force_login(ministry_user)
    assert _replica_has(ministry_user.username)
    response, _, on_replica = _get(client, DASHBOARD)
    assert response.status_code == 200 and on_replica
    # Stopped after the last check: the view's first query fails, and the view runs again on the primary.
    settings.REPLICA_CHECK_SECONDS = 3600
    replica_db.stop()
    before = _fallbacks("down")
    with CaptureQueriesContext(connections["default"]) as primary:
        response = client.get(DASHBOARD)
    assert response.status_code == 200
    assert any("stats_monthlycell" in q["sql"] for q in primary.captured_queries)
    assert _fallbacks("down") == before + 1
    assert any("replica unreachable" in r.getMessage() for r in caplog.records)
    # Marked down: the next requests go straight to the primary until the next check.
    with CaptureQueriesContext(connections["default"]) as primary:
        assert client.get(f"{DASHBOARD}&kind=microfinance").status_code == 200
    assert any("stats_monthlycell" in q["sql"] for q in primary.captured_queries)
    assert _fallbacks("down") == before + 1
    # A check while it is down: down again, and still no failed request.
    settings.REPLICA_CHECK_SECONDS = 0
    api_response = client.get(DASHBOARD)
    assert api_response.status_code == 200
    assert _fallbacks("down") == before + 2
