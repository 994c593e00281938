"""The access log's retention (raised, never lowered) and its purge in the destruction ledger; the API."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ImproperlyConfigured

from cases import access_log
from cases.services import pii_access_log_purge
from cases.tests.factories import make_client
from privacy.retention_models import BatchStatus, DestructionBatch, DestructionRecord

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("days", "starts"), [("729", False), ("730", True), ("1095", True)])
def test_the_access_log_period_can_be_raised_but_never_set_below_two_years(days, starts):
    env = {
        **os.environ,
        "DJANGO_DEBUG": "1",
        "PII_ACCESS_LOG_RETENTION_DAYS": days,
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    proc = subprocess.run(  # noqa: S603
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; print(settings.PII_ACCESS_LOG_RETENTION_DAYS)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (proc.returncode == 0) is starts, proc.stderr[-500:]
    if starts:
        assert proc.stdout.strip() == days
    else:
        assert "PII_ACCESS_LOG_RETENTION_DAYS must be 730 or more" in proc.stderr


@pytest.mark.django_db
def test_a_lowered_period_set_after_startup_purges_nothing(counselor, settings):
    client = make_client(counselor)
    access_log.append(
        [
            access_log.Entry(
                user_id=counselor.pk, client_id=client.pk, action="read", view="v", ip_address=None, reason=""
            )
        ],
        at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
    )
    settings.PII_ACCESS_LOG_RETENTION_DAYS = 30
    with pytest.raises(ImproperlyConfigured):
        pii_access_log_purge()
    assert access_log.verify().ok


@pytest.mark.django_db
def test_the_access_log_purge_is_written_to_the_destruction_ledger(counselor, settings):
    settings.PII_ACCESS_LOG_RETENTION_DAYS = 730
    client = make_client(counselor)
    for year in (2022, 2023, 2026):
        access_log.append(
            [
                access_log.Entry(
                    user_id=counselor.pk, client_id=client.pk, action="read", view="v", ip_address=None, reason=""
                )
            ],
            at=dt.datetime(year, 1, 1, tzinfo=dt.UTC),
        )
    with time_machine.travel(dt.datetime(2026, 6, 1, tzinfo=dt.UTC)):
        assert pii_access_log_purge() == 2
        assert pii_access_log_purge() == 0
    (row,) = DestructionRecord.objects.all()
    assert (row.record_type, row.rows, row.ground, row.method, row.approved_by) == (
        "access_log", 2, "access_log_retention", "deleted", None,
    )  # fmt: skip


@pytest.mark.django_db
def test_the_approve_api_answers_the_privacy_officer_and_refuses_everyone_else(
    api_for, counselor, admin_user_staff, officer, officer2
):
    batch = DestructionBatch.objects.create(proposed_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC), proposed_by=officer)
    url = f"/api/v1/privacy/destructions/{batch.pk}/approve/"
    assert api_for(None).post(url).status_code == 401
    assert api_for(counselor).post(url).status_code == 403
    assert api_for(admin_user_staff).post(url).status_code == 403
    resp = api_for(officer).post(url)
    assert resp.status_code == 409 and resp.json()["code"] == "four_eyes"
    assert api_for(officer2).post("/api/v1/privacy/destructions/999999/approve/").status_code == 404
    resp = api_for(officer2).post(url)
    assert (
        resp.status_code == 200
        and resp.json()["status"] == "approved"
        and resp.json()["approved_by"] == officer2.username
    )
    assert api_for(officer2).post(url).json()["code"] == "invalid_transition"
    assert DestructionBatch.objects.get(pk=batch.pk).status == BatchStatus.APPROVED
