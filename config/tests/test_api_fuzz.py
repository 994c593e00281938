"""Schemathesis fuzzes every operation in /api/schema/ as a counselor: no 500, every answer matches the schema.

New endpoints are covered automatically: the schema is loaded from the running app at test time.
Bounded: FUZZ_EXAMPLES examples per operation (default 15), fixed seed, derandomized, so CI is repeatable.
"""

from __future__ import annotations

import copy
import json
import os

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.serializers.json import DjangoJSONEncoder
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
# Schema-valid is not always acceptable: wrong credentials, a missing consent or a refused transition
# are legitimate 400/409 answers the schema cannot express. Rejection of schema-violating requests
# (empty or repeated query parameters, wrong types) is checked only with FUZZ_STRICT=1 for now: it
# found real problems (page_size=abc, outreach=maybe, fixed) but also flags benign leniency.
EXCLUDED_CHECKS = [positive_data_acceptance]
if os.environ.get("FUZZ_STRICT") != "1":
    EXCLUDED_CHECKS.append(negative_data_rejection)


@pytest.fixture
def _keep_test_connection():
    # The raw WSGI handler closes DB connections at request end, which would end the test's
    # transaction; Django's own test client disconnects the same handlers.
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _load_schema() -> schemathesis.schemas.BaseSchema:
    """The same document /api/schema/ serves, generated in-process (no database needed at collection)."""
    from drf_spectacular.generators import SchemaGenerator

    from config.wsgi import application

    document = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(json.dumps(document, cls=DjangoJSONEncoder)))
    loaded.app = application
    return loaded


schema = _load_schema()


@pytest.fixture
def fuzz_settings(directory, settings, _keep_test_connection):
    settings.ALLOWED_HOSTS = ["*"]
    rest = copy.deepcopy(django_settings.REST_FRAMEWORK)
    # The fuzzer is one user sending thousands of requests; throttling has its own tests.
    rest["DEFAULT_THROTTLE_RATES"].update({"user": "1000000/min", "anon": "1000000/min", "login": "1000000/min"})
    settings.REST_FRAMEWORK = rest
    settings.AXES_ENABLED = False


@pytest.fixture
def counselor_token(counselor) -> str:
    return Token.objects.get_or_create(user=counselor)[0].key


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_api_operation_answers_without_500_and_as_documented(case, fuzz_settings, counselor_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {counselor_token}"},
        excluded_checks=EXCLUDED_CHECKS,
    )
