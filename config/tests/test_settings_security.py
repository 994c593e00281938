"""Production settings: `check --deploy` is clean, bad environment values stop the start, headers are set."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


def production_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "example.kr",
        "PII_ENCRYPTION_KEYS": "dGVzdC1vbmx5LXBpaS1rZXktMzItYnl0ZXMtbG9uZyE=",
        "PII_HASH_KEY": secrets.token_urlsafe(32),
    }
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_production_environment():
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=production_env())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNING" not in output.upper().replace("--FAIL-LEVEL WARNING", "")
    assert "no issues" in output


def test_production_refuses_to_start_without_a_secret_key():
    env = production_env()
    del env["DJANGO_SECRET_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_pii_keys():
    env = production_env()
    del env["PII_HASH_KEY"]
    result = run_manage("check", env=env)
    assert result.returncode != 0
    assert "PII_HASH_KEY" in result.stderr


def test_a_debug_value_that_is_not_a_boolean_stops_the_start():
    result = run_manage("check", env=production_env(DJANGO_DEBUG="maybe"))
    assert result.returncode != 0
    assert "DJANGO_DEBUG='maybe' is not a boolean" in result.stderr


def test_production_settings_turn_on_https_only_protections():
    code = (
        "import django;django.setup();from django.conf import settings as s;"
        "print(s.DEBUG, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_HTTPONLY, s.X_FRAME_OPTIONS)"
    )
    env = production_env(DJANGO_SETTINGS_MODULE="config.settings")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "True", "True", "True", "31536000", "True", "True", "DENY"]


@pytest.mark.parametrize("value", ["maybe", "2", "yes please", "ture"])
def test_env_bool_fails_loudly_on_a_value_that_is_not_a_boolean(monkeypatch, value):
    monkeypatch.setenv("SOME_FLAG", value)
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG"):
        env_bool("SOME_FLAG")


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("TRUE", True), (" on ", True), ("0", False), ("no", False)]
)
def test_env_bool_reads_the_usual_spellings(monkeypatch, value, expected):
    monkeypatch.setenv("SOME_FLAG", value)
    assert env_bool("SOME_FLAG") is expected


def test_env_int_fails_loudly_on_a_value_that_is_not_an_integer(monkeypatch):
    monkeypatch.setenv("SOME_NUMBER", "30m")
    with pytest.raises(ImproperlyConfigured, match="SOME_NUMBER='30m' is not an integer"):
        env_int("SOME_NUMBER", 5)
    monkeypatch.setenv("SOME_NUMBER", "42")
    assert env_int("SOME_NUMBER", 5) == 42


def test_env_str_without_default_fails_loudly_when_unset(monkeypatch):
    monkeypatch.delenv("SOME_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="Set the SOME_SECRET environment variable"):
        env_str("SOME_SECRET")


def test_env_list_splits_and_trims(monkeypatch):
    monkeypatch.setenv("SOME_HOSTS", " a.kr, b.kr ,,")
    assert env_list("SOME_HOSTS") == ["a.kr", "b.kr"]


def test_database_url_of_an_unknown_kind_stops_the_start():
    result = run_manage("check", env=production_env(DATABASE_URL="mysql://u@h/db"))
    assert result.returncode != 0
    assert "DATABASE_URL must be a postgres:// or sqlite:// URL" in result.stderr


def _databases(**extra: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import django, json; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({k: {'PORT': v.get('PORT'), 'OPTIONS': v.get('OPTIONS'), "
        "'MIRROR': v.get('TEST', {}).get('MIRROR')} for k, v in s.DATABASES.items()}))"
    )
    env = {**production_env(**extra), "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_a_replica_url_adds_the_replica_alias_with_a_short_connect_timeout():
    import json

    done = _databases(
        DATABASE_URL="postgres://app@db1:5432/yeongye",
        DATABASE_REPLICA_URL="postgres://app@db2:5433/yeongye",
        REPLICA_CONNECT_TIMEOUT="3",
    )
    assert done.returncode == 0, done.stderr
    dbs = json.loads(done.stdout.strip().splitlines()[-1])
    assert set(dbs) == {"default", "replica"}
    assert dbs["replica"]["PORT"] == 5433 and dbs["replica"]["OPTIONS"] == {"connect_timeout": 3}
    assert dbs["replica"]["MIRROR"] == "default"  # under test, the alias is the primary (no stale reads)
    assert set(json.loads(_databases(DATABASE_URL="postgres://app@db1/yeongye").stdout.splitlines()[-1])) == {"default"}


def test_a_replica_of_the_sqlite_demo_is_refused_at_start():
    done = _databases(DATABASE_URL="", DATABASE_REPLICA_URL="postgres://app@db2/yeongye")
    assert done.returncode != 0 and "DATABASE_REPLICA_URL needs PostgreSQL" in done.stderr
