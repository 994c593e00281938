"""Partner import batches through a real Celery worker on a real Redis: validate, apply, route; a killed worker."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.test import Client as Client_
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases import access_log
from cases.models import Case, Client, ImportBatch, PiiAccessLog
from referral.models import Referral
from referral.tasks import sweep_import_batches
from referral.tests.conftest import wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
LG = "LG-SEOUL-GWANAK"
REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _rows(n: int, offset: int = 0) -> list[dict]:
    day = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    return [
        {
            "name": "박명단",
            "birth_date": (dt.date(1960, 1, 1) + dt.timedelta(days=i + offset)).isoformat(),
            "phone": f"010-6{(i + offset) % 1000:03d}-{(i + offset) % 10000:04d}",
            "needs": "job_search",
            "service": "job_placement" if i % 2 else "debt_adjustment",
            "consent_date": day,
            "consent_method": "paper",
            "consent_kinds": "employment_welfare;microfinance",
        }
        for i in range(n)
    ]


def _api(user) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def _status(pk: int) -> str:
    return ImportBatch.objects.values_list("status", flat=True).get(pk=pk)


def test_a_real_worker_validates_applies_and_routes_an_approved_batch(make_staff, directory, celery_worker_on):
    partner = make_staff("counselor", LG, username="lg_worker_counselor")
    manager = make_staff("center_manager", LG, username="lg_worker_manager")
    celery_worker_on(REDIS)
    resp = _api(partner).post("/api/v1/imports/", {"rows": _rows(20)}, format="json")
    assert resp.status_code == 201 and resp.json()["status"] == "validating"
    pk = resp.json()["id"]
    assert wait_for(lambda: _status(pk) == "ready", timeout=30), ImportBatch.objects.get(pk=pk).errors
    assert _api(manager).post(f"/api/v1/imports/{pk}/approve/").status_code == 200
    assert wait_for(lambda: _status(pk) == "applied", timeout=60), ImportBatch.objects.get(pk=pk).failure
    ids = list(ImportBatch.objects.get(pk=pk).rows.values_list("referral_id", flat=True))
    assert wait_for(lambda: Referral.objects.filter(pk__in=ids, to_desk__isnull=False).count() == 20, timeout=60)
    kinds = dict(Referral.objects.filter(pk__in=ids).values_list("service__code", "to_desk__operator_kind"))
    assert kinds == {"job_placement": "employment_welfare", "debt_adjustment": "microfinance"}
    # Each referral reached a desk by the same routing as a walk-in: one route event with the ranking.
    assert all(r.events.filter(kind="route").count() == 1 for r in Referral.objects.filter(pk__in=ids[:3]))
    body = _api(partner).get(f"/api/v1/imports/{pk}/").json()
    assert (body["status"], body["progress"], len(body["report"])) == ("applied", 100, 20)


@contextlib.contextmanager
def _access_log_chain_held() -> Iterator[None]:
    """Hold the access log's chain lock from another connection: an applying worker writes its clients,
    consents, cases and referrals inside its transaction, then waits at its access-log step."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s, hashtext(current_database()))", [access_log._LOCK_KEY])
        yield
    finally:
        other.close()  # a session lock ends with its session


def _waiting_on_the_chain() -> bool:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND query LIKE %s",
            ["%pg_advisory_xact_lock%"],
        )
        return cur.fetchone()[0] > 0


def test_a_worker_killed_while_applying_leaves_nothing_and_the_sweeper_resumes_the_batch(
    make_staff, directory, celery_worker_on, settings
):
    partner = make_staff("counselor", LG, username="lg_kill_counselor")
    manager = make_staff("center_manager", LG, username="lg_kill_manager")
    # The worker counts its progress in Redis, which this process reads too (the page's progress bar).
    settings.CACHES = {"default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": REDIS}}
    cache.clear()
    worker = celery_worker_on(REDIS, {"CACHE_URL": REDIS})
    n = 400
    pk = _api(partner).post("/api/v1/imports/", {"rows": _rows(n, offset=5000)}, format="json").json()["id"]
    assert wait_for(lambda: _status(pk) == "ready", timeout=60)
    with _access_log_chain_held():
        assert _api(manager).post(f"/api/v1/imports/{pk}/approve/").status_code == 200
        # Mid-apply for certain: every row is written inside the worker's transaction, which waits for the chain.
        assert wait_for(_waiting_on_the_chain, timeout=60, interval=0.05)
        assert _status(pk) == "applying"
        body = _api(partner).get(f"/api/v1/imports/{pk}/").json()
        assert 50 <= body["progress"] <= 99, body["progress"]
        # With the cache out of reach (this process's own memory instead of Redis), the bar falls back to the
        # batch row: 0 until the apply commits, and the page still answers.
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
        assert _api(partner).get(f"/api/v1/imports/{pk}/").json()["progress"] == 0
        browser = Client_()
        browser.force_login(partner)
        page = browser.get(reverse("cases:import_detail", args=[pk]))
        assert page.status_code == 200 and 'value="0"' in page.content.decode()
        # Kill the whole worker without warning while it holds all the rows uncommitted.
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    assert _status(pk) == "applying"
    # Nothing of the batch is visible: the transaction died with the worker.
    assert not Client.objects.filter(center__code=LG).exists()
    assert not Case.objects.filter(center__code=LG).exists()
    assert not Referral.objects.filter(from_center__code=LG).exists()

    celery_worker_on(REDIS)

    # Twelve minutes later (the worker's own clock cannot be moved: the claim is made that old instead),
    # the dead worker's claim is past its lease and beat's sweeper re-enqueues the batch.
    ImportBatch.objects.filter(pk=pk).update(apply_started_at=timezone.now() - dt.timedelta(minutes=12))
    assert sweep_import_batches() == 1
    assert wait_for(lambda: _status(pk) == "applied", timeout=120), ImportBatch.objects.get(pk=pk).failure
    batch = ImportBatch.objects.get(pk=pk)
    assert batch.apply_attempts == 2
    # Whole, once: one client, one case and one referral per row, each recorded once in the access log.
    assert Client.objects.filter(center__code=LG).count() == n
    assert Case.objects.filter(center__code=LG).count() == n
    ids = list(Referral.objects.filter(from_center__code=LG).values_list("pk", flat=True))
    assert len(ids) == n
    created = PiiAccessLog.objects.filter(action="create", view="import:apply", reason=f"partner batch {pk}")
    assert created.count() == n
    assert access_log.verify().ok
    # And the one routing task of the batch puts every referral at a desk.
    assert wait_for(lambda: Referral.objects.filter(pk__in=ids, to_desk__isnull=False).count() == n, timeout=60)
    assert _api(partner).get(f"/api/v1/imports/{pk}/").json()["progress"] == 100
