"""Faults against real services: Redis stopped, a worker SIGKILLed mid-routing, PostgreSQL dropping the
request's connection, concurrent actions on one referral. Each proves nothing is lost or half-written."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from typing import Any

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.test import Client as PageClient
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from config.celery import app as celery_app
from core.queueing import RETRY_BACKOFF_MAX
from referral import services
from referral.models import Referral, ReferralEvent
from referral.tasks import route_referral, sweep_unrouted
from referral.tests.conftest import _db_url, wait_for
from referral.tests.factories import case_with_consent

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/v1/referrals/"


def _routed(ids: list[int]) -> bool:
    return Referral.objects.filter(pk__in=ids, to_desk__isnull=False).count() == len(ids)


def _whole(ids: list[int]) -> None:
    """Every referral has its create event and exactly one route event."""
    for r in Referral.objects.filter(pk__in=ids):
        kinds = list(r.events.values_list("kind", flat=True))
        assert kinds.count("create") == 1, (r.pk, kinds)
        assert kinds.count("route") == 1, (r.pk, kinds)


def _no_half_written_referral() -> None:
    assert not Referral.objects.exclude(events__kind="create").exists(), "a referral without its create event"


# --- Redis stopped ---------------------------------------------------------------------------------------


@pytest.mark.worker
def test_referrals_created_while_redis_is_down_all_succeed_and_are_all_routed_once_it_returns(
    counselor, manager, api_for, own_redis, celery_worker_on
):
    celery_worker_on(own_redis["url"])
    api = api_for(counselor)
    warm = api.post(URL, {"case": case_with_consent(counselor).pk, "service": "policy_microloan"}, format="json")
    assert warm.status_code == 201
    assert wait_for(lambda: _routed([warm.json()["id"]]), timeout=30)

    own_redis["stop"]()
    before = Referral.objects.count()
    ids, slowest = [], 0.0
    services_cycle = ["debt_adjustment", "kesp", "basic_livelihood", "policy_microloan", "credit_counseling"]
    for i in range(10):
        t0 = time.monotonic()
        resp = api.post(URL, {"case": case_with_consent(counselor).pk, "service": services_cycle[i % 5]}, format="json")
        slowest = max(slowest, time.monotonic() - t0)
        assert resp.status_code == 201, resp.content
        ids.append(resp.json()["id"])
    # The page path too: the manager sends one from the form.
    page = PageClient()
    page.force_login(manager)
    resp = page.post(reverse("referral:create"), {"case": case_with_consent(manager).pk, "service": "kesp"})
    assert resp.status_code == 302
    page_ref = Referral.objects.filter(created_by=manager).latest("pk")
    ids.append(page_ref.pk)
    assert Referral.objects.count() == before + 11  # every request was saved…
    assert Referral.objects.filter(pk__in=ids, to_desk__isnull=True).count() == 11  # …none routed yet
    print(f"slowest create with Redis down: {slowest:.2f}s")
    assert slowest < 5

    own_redis["start"]()

    def swept_and_routed() -> bool:
        # What beat does every 30 s: a minute later the referrals count as stuck and are enqueued again.
        with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=True):
            sweep_unrouted()
        return wait_for(lambda: _routed(ids), timeout=5)

    assert wait_for(swept_and_routed, timeout=90, interval=1), "referrals were lost in the outage"
    assert Referral.objects.count() == before + 11
    _whole(ids)


# --- A worker killed mid-routing -----------------------------------------------------------------------


def _lock_waiters(dbname: str) -> list[int]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
            [dbname],
        )
        return [row[0] for row in cur.fetchall()]


@pytest.mark.worker
def test_a_worker_killed_mid_routing_leaves_the_referral_to_the_next_worker_which_routes_it_exactly_once(
    counselor, api_for, own_redis, celery_worker_on
):
    # Redelivery of an unacknowledged message needs the message to be older than visibility_timeout;
    # production waits 15 minutes (and the sweeper re-enqueues after one), the test 3 seconds.
    fast_redelivery = {"CELERY_VISIBILITY_TIMEOUT": "3"}
    from referral.tests.conftest import _use_broker

    _use_broker(own_redis["url"])
    resp = api_for(counselor).post(
        URL, {"case": case_with_consent(counselor).pk, "service": "debt_adjustment"}, format="json"
    )
    assert resp.status_code == 201
    pk = resp.json()["id"]
    dbname = connection.settings_dict["NAME"]

    # Hold the referral's row lock from another connection: the worker's routing blocks on it.
    holder = psycopg.connect(_db_url())
    holder.execute("SELECT id FROM referral_referral WHERE id = %s FOR UPDATE", [pk])
    worker = celery_worker_on(own_redis["url"], fast_redelivery)
    try:
        assert wait_for(lambda: bool(_lock_waiters(dbname)), timeout=30), "the worker never started routing"
        waiting = _lock_waiters(dbname)
        os.killpg(worker.pid, signal.SIGKILL)  # mid-routing: the task was taken, not acknowledged
        worker.wait(timeout=10)
        assert worker.returncode == -signal.SIGKILL
        with connection.cursor() as cur:  # the dead worker's backend, still queued on the lock
            for pid in waiting:
                cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        holder.rollback()
        holder.close()
    assert wait_for(lambda: not _lock_waiters(dbname), timeout=10)
    r = Referral.objects.get(pk=pk)
    assert r.to_desk_id is None and not r.events.filter(kind="route").exists()  # nothing half-done

    time.sleep(3.5)  # older than the visibility timeout: the next worker takes the message back
    celery_worker_on(own_redis["url"], fast_redelivery)
    assert wait_for(lambda: _routed([pk]), timeout=45), "the message was not redelivered after the worker died"

    # More deliveries of the same job (the sweeper, a duplicate message) change nothing.
    route_referral.delay(pk)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=True):
        sweep_unrouted()
    time.sleep(3)
    r = Referral.objects.get(pk=pk)
    assert r.to_desk.code == "MF-SEOUL-GWANAK-FIN"
    assert list(r.events.order_by("pk").values_list("kind", flat=True)) == ["create", "route"]


OUR_APPS = {"core", "centers", "cases", "referral", "jobs", "stats", "privacy", "demo"}


def test_redelivery_settings_fit_the_longest_task():
    """visibility_timeout below a task's time limit would deliver a running task twice."""
    timeout = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    celery_app.loader.import_default_modules()  # every app's tasks module, as a worker imports them at start
    ours = {name: t for name, t in celery_app.tasks.items() if name.split(".")[0] in OUR_APPS}
    assert "referral.tasks.route_referral" in ours and "jobs.tasks.retrain_classifier" in ours
    limits = [t.time_limit or settings.CELERY_TASK_TIME_LIMIT for t in ours.values()]
    assert timeout > max(limits) + RETRY_BACKOFF_MAX  # the longest task plus the longest back-off
    # Every task is idempotent and so acknowledged late: a killed worker's message is delivered again.
    assert all(t.acks_late and t.reject_on_worker_lost and t.soft_time_limit < t.time_limit for t in ours.values())
    assert settings.CELERY_TASK_ACKS_LATE and settings.CELERY_TASK_REJECT_ON_WORKER_LOST
    assert route_referral.acks_late and route_referral.reject_on_worker_lost


# --- PostgreSQL dropping the request's connection -------------------------------------------------------


def _drop_request_mid_write(send) -> Any:
    """Block the request on the referral-event insert (after the referral row was inserted), kill its
    backend from another connection, and return the response the request got."""
    dbname = connection.settings_dict["NAME"]
    out: dict[str, Any] = {}
    holder = psycopg.connect(_db_url())
    holder.execute("LOCK TABLE referral_referralevent IN SHARE MODE")

    def run() -> None:
        try:
            out["response"] = send()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    try:
        assert wait_for(lambda: bool(_lock_waiters(dbname)), timeout=20), "the request never reached the insert"
        with connection.cursor() as cur:
            for pid in _lock_waiters(dbname):
                cur.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        holder.rollback()
        holder.close()
    thread.join(timeout=30)
    return out["response"]


def test_api_request_whose_database_connection_drops_gets_a_503_with_a_detail_and_nothing_half_written(
    counselor,
):
    case = case_with_consent(counselor)
    before = Referral.objects.count(), ReferralEvent.objects.count()

    def send() -> Any:
        api = APIClient()
        api.force_authenticate(counselor)
        return api.post(URL, {"case": case.pk, "service": "debt_adjustment"}, format="json")

    resp = _drop_request_mid_write(send)
    assert resp.status_code == 503
    assert resp.json()["code"] == "unavailable" and "nothing was saved" in resp.json()["detail"].lower()
    assert (Referral.objects.count(), ReferralEvent.objects.count()) == before
    _no_half_written_referral()
    # The next request gets a fresh connection and works.
    retry = APIClient()
    retry.force_authenticate(counselor)
    assert retry.post(URL, {"case": case.pk, "service": "debt_adjustment"}, format="json").status_code == 201
    _no_half_written_referral()


def test_page_request_whose_database_connection_drops_gets_an_error_page_and_nothing_half_written(counselor):
    case = case_with_consent(counselor)
    before = Referral.objects.count(), ReferralEvent.objects.count()
    page = PageClient()
    page.force_login(counselor)

    def send() -> Any:
        return page.post(reverse("referral:create"), {"case": case.pk, "service": "debt_adjustment"})

    resp = _drop_request_mid_write(send)
    assert resp.status_code == 503
    html = resp.content.decode()
    assert 'data-testid="unavailable"' in html and "아무것도 저장되지 않았습니다" in html
    assert "<script>" not in html
    assert (Referral.objects.count(), ReferralEvent.objects.count()) == before
    _no_half_written_referral()
    # Still logged in, and the next try works.
    assert page.post(reverse("referral:create"), {"case": case.pk, "service": "debt_adjustment"}).status_code == 302
    assert Referral.objects.count() == before[0] + 1


# --- Concurrent accept, decline and cancel ------------------------------------------------------------


def test_concurrent_accept_decline_and_cancel_end_in_one_consistent_state_with_one_event_per_transition(
    counselor, manager, mf_counselor, make_staff, monkeypatch
):
    # Decline hands the referral back to routing; keep it unrouted so the outcome is decided by the race alone.
    monkeypatch.setattr(services, "_enqueue_route", lambda referral_id: None)
    mf_manager = make_staff("center_manager", "MF-SEOUL-GWANAK")
    actors = [
        ("accept", mf_counselor, {}),
        ("accept", mf_manager, {}),
        ("decline", mf_counselor, {"reason": "no_capacity"}),
        ("decline", mf_manager, {"reason": "out_of_area"}),
        ("cancel", counselor, {"reason": "client_request"}),
        ("cancel", manager, {"reason": "duplicate"}),
    ]
    for round_ in range(4):
        case = case_with_consent(counselor)
        r = services.referral_create(by=counselor, case_id=case.pk, service_code="debt_adjustment")
        services.referral_route(referral_id=r.pk)
        assert Referral.objects.get(pk=r.pk).to_center.code == "MF-SEOUL-GWANAK"
        barrier = threading.Barrier(len(actors))
        results: list[tuple[str, int]] = [("", 0)] * len(actors)

        def act(i: int, action: str, user: Any, body: dict, pk: int = r.pk, barrier=barrier, results=results):
            api = APIClient()
            api.force_authenticate(user)
            try:
                barrier.wait(timeout=20)
                results[i] = (action, api.post(f"{URL}{pk}/{action}/", body, format="json").status_code)
            finally:
                connection.close()  # each thread had its own PostgreSQL connection

        threads = [
            threading.Thread(target=act, args=(i, action, user, body)) for i, (action, user, body) in enumerate(actors)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        ok = [a for a, code in results if code == 200]
        for action, code in results:
            # The losers get 409; a receiving-side action that comes after a winning decline gets 404:
            # the referral went back to routing and is no longer the receiving center's to see.
            lost_sight = code == 404 and action in ("accept", "decline") and "decline" in ok
            assert code in (200, 409) or lost_sight, results
        # Cancel is open to the sender from every open status, so exactly one of the two cancels wins;
        # at most one receiving action wins, and only if it came before the cancel.
        assert ok.count("cancel") == 1, results
        assert ok.count("accept") + ok.count("decline") <= 1, results
        ref = Referral.objects.get(pk=r.pk)
        assert ref.status == "cancelled"
        kinds = list(ref.events.order_by("pk").values_list("kind", flat=True))
        assert kinds == ["create", "route", *[a for a in kinds[2:] if a in ("accept", "decline")], "cancel"], kinds
        assert sorted(kinds[2:]) == sorted(ok), (kinds, results)
        if "accept" in ok:
            assert ref.accepted_at is not None and ref.assigned_to_id in (mf_counselor.pk, mf_manager.pk)
        if "decline" in ok:
            assert ref.to_desk_id is None
        print(f"round {round_}: winners {ok}")
