"""The real-services fixtures of referral/tests (a Celery worker subprocess, a Redis of our own) for the fault tests."""

from referral.tests.conftest import celery_worker_on, own_redis  # noqa: F401
