"""The cache as a best-effort dependency: with Redis gone, operations fall back to process memory."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import caches
from prometheus_client import REGISTRY

from core import cache as failsoft
from core.tests.conftest import RedisServer, free_port


def _degraded(operation: str) -> float:
    return REGISTRY.get_sample_value("yeongye_cache_degraded_operations_total", {"operation": operation}) or 0.0


def _cache(url: str) -> failsoft.FailSoftRedisCache:
    return failsoft.FailSoftRedisCache(url, {})


def test_with_redis_unreachable_every_operation_answers_from_process_memory_and_is_counted(caplog):
    cache = _cache(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    gets_before = _degraded("get")
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        started = time.monotonic()
        assert cache.get("missing", "default") == "default"
        cache.set("throttle_user_1", [1.0, 2.0], 60)
        assert cache.get("throttle_user_1") == [1.0, 2.0]
        assert cache.add("lock", 1) is True and cache.add("lock", 1) is False
        assert cache.incr("lock") == 2
        assert cache.get_many(["lock", "none"]) == {"lock": 2}
        assert cache.delete("lock") is True
        elapsed = time.monotonic() - started
    assert cache.degraded
    assert _degraded("get") == gets_before + 2
    assert elapsed < 2, "a dead Redis must not hold requests up"
    # One warning for the outage, not one per operation.
    assert [r.getMessage() for r in caplog.records].count(caplog.records[0].getMessage()) == 1
    assert "cache unreachable" in caplog.records[0].getMessage()


def test_the_cache_goes_back_to_redis_once_it_answers_again(monkeypatch):
    monkeypatch.setattr(failsoft, "RETRY_AFTER_SECONDS", 0.2)
    server = RedisServer()
    cache = _cache(server.url)
    assert cache.get("k", "none") == "none" and cache.degraded  # not started yet
    cache.set("k", "in memory")
    server.start()
    try:
        time.sleep(0.3)
        assert cache.get("k", "none") == "none"  # Redis answers: process memory is no longer read
        assert not cache.degraded
        cache.set("k", "in redis")
        other_process = _cache(server.url)
        assert other_process.get("k") == "in redis"
        server.stop()
        assert cache.get("k", "gone") == "gone" and cache.degraded  # stopped again: degraded again, no raise
        server.start()
        time.sleep(0.3)
        assert cache.get("k", "none") == "none" and not cache.degraded  # a restarted Redis starts empty
    finally:
        server.stop()


@pytest.mark.django_db
def test_throttling_keeps_limiting_per_process_while_redis_is_down(settings, counselor):
    import copy

    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    settings.CACHES = {
        "default": {"BACKEND": "core.cache.FailSoftRedisCache", "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}
    }
    rest = copy.deepcopy(settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"].update({"user": "3/min", "login": "3/min"})
    settings.REST_FRAMEWORK = rest
    assert isinstance(caches["default"], failsoft.FailSoftRedisCache)

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=counselor).key}")
    statuses = [api.get("/api/v1/services/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]

    # Token login (throttled by the `login` scope) works too: a wrong password is a 400, never a 500.
    anon = APIClient()
    wrong = anon.post("/api/v1/auth/token/", {"username": counselor.username, "password": "nope"}, format="json")
    assert wrong.status_code == 400
    from conftest import PASSWORD

    right = anon.post("/api/v1/auth/token/", {"username": counselor.username, "password": PASSWORD}, format="json")
    assert right.status_code == 200 and right.json()["token"]


def test_a_throttle_whose_cache_raises_lets_the_request_through_and_counts_it(rf, monkeypatch):
    from core.throttling import AnonRateThrottle

    class Broken:
        def get(self, *args: object, **kwargs: object) -> object:
            raise ConnectionError("cache down")

    throttle = AnonRateThrottle()
    monkeypatch.setattr(throttle, "cache", Broken())
    before = REGISTRY.get_sample_value("yeongye_throttle_fail_open_total", {"scope": "anon"}) or 0.0
    assert throttle.allow_request(rf.get("/api/v1/services/"), None) is True
    assert REGISTRY.get_sample_value("yeongye_throttle_fail_open_total", {"scope": "anon"}) == before + 1


def test_the_threads_of_a_process_share_one_fallback_and_one_outage(monkeypatch):
    """Django gives each thread its own cache object; per-thread fallbacks would multiply the limit."""
    import threading

    location = f"redis://127.0.0.1:{free_port()}/0"
    main = _cache(location)
    main.set("throttle_user_7", [1.0])
    seen: list[object] = []

    def other_thread() -> None:
        other = _cache(location)
        seen.append((other.degraded, other.get("throttle_user_7")))

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert seen == [(True, [1.0])]
