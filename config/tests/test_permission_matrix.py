"""Permission matrix: every role × every API operation and page × object scope, against the table below.

The endpoints are enumerated from the OpenAPI schema and the pages from the URL resolver, so a new
endpoint or page without an expected entry fails `test_every_endpoint_and_page_has_an_expected_entry`.

Roles: counselor and center_manager of EW-SEOUL-GWANAK ("own"), ministry, admin, anonymous.
Scopes of the object in the URL (or named in the body, for creations):
- clients, consents, cases: `own` (EW-SEOUL-GWANAK's) / `other` (EW-BUSAN-SAHA's);
- referrals: `sent` (EW-SEOUL-GWANAK → MF-SEOUL-GWANAK), `received` (MF-SEOUL-GWANAK → EW-SEOUL-GWANAK),
  `other` (EW-BUSAN-SAHA → MF-BUSAN, no business of ours);
- `none` for lists and the directory.

Besides the status, every response is searched for personal data it must not carry:
- ministry and admin: no seeded name, phone, RRN digit run or note, whatever the endpoint;
- everyone: no other center's client, no sending center's case note on the receiving side,
  never the unmasked part of an RRN;
and a refused write in another center's scope changes nothing.
Each request runs in a savepoint that is rolled back, so every row of the table starts from the same state.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.test import Client as PageClient
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.test import APIClient

from cases import services as case_services
from cases.imports import import_batch_approve, import_batch_create, import_json_parse
from cases.inputs import case_opening_parse, client_facts_parse
from cases.models import Case, CaseNote, Client, Consent, ImportBatch
from cases.tests.factories import valid_rrn
from centers.models import Center
from jobs import services as job_services
from privacy.access_review import month_start, previous_month
from privacy.requests_models import SubjectRequest
from referral import services as referral_services
from referral.models import Appointment, Referral, ReferralEvent

ROLES = ("counselor", "center_manager", "ministry", "admin", "privacy_officer", "anonymous")
CENTER_ROLES = ("counselor", "center_manager")
A, M = "counselor", "center_manager"

# --- Seeded personal data: distinctive strings that must only show where they belong. ------------------
OWN_NAME, OWN_PHONE, OWN_NOTE, OWN_RRN_SERIAL = "관악누설금지", "010-4821-7395", "관악비밀상담메모QX", "97531"
OTHER_NAME, OTHER_PHONE, OTHER_NOTE, OTHER_RRN_SERIAL = "부산타센터인", "010-3174-2286", "부산비밀상담메모QZ", "86420"
INBOUND_NAME, INBOUND_PHONE, INBOUND_CASE_NOTE = "수신연계대상", "010-6612-9043", "발신센터내부메모QW"
OTHER_REF_NAME, OTHER_REF_PHONE = "부산연계대상", "010-7788-1357"


def _digits(phone: str) -> str:
    return phone.replace("-", "")


ALL_PII = [
    OWN_NAME,
    OWN_PHONE,
    _digits(OWN_PHONE),
    OWN_NOTE,
    OTHER_NAME,
    OTHER_PHONE,
    _digits(OTHER_PHONE),
    OTHER_NOTE,
    INBOUND_NAME,
    INBOUND_PHONE,
    _digits(INBOUND_PHONE),
    INBOUND_CASE_NOTE,
    OTHER_REF_NAME,
    OTHER_REF_PHONE,
]
# Never visible to EW-SEOUL-GWANAK staff: another center's clients and notes, the sender's internal case note.
NOT_FOR_OWN_CENTER = [
    OTHER_NAME,
    OTHER_PHONE,
    _digits(OTHER_PHONE),
    OTHER_NOTE,
    OTHER_REF_NAME,
    OTHER_REF_PHONE,
    INBOUND_CASE_NOTE,
]
# The unmasked tail of an RRN is never shown to anyone (only "860715-1******").
NEVER = [OWN_RRN_SERIAL, OTHER_RRN_SERIAL]


# --- The expected table. --------------------------------------------------------------------------------
# A value is a status code for every scope, or {scope: status}. 302 for anonymous pages = to the login page.
Expect = int | dict[str, int]
# The privacy officer reads logs, ledgers and requests, never case content (the defaults for the role are
# set after the table, below).
DENY_PII = {"ministry": 403, "admin": 403, "anonymous": 401}
API: dict[tuple[str, str], dict[str, Expect]] = {
    # Auth: the token endpoint takes credentials, not a session (tested in centers/tests).
    ("POST", "/api/v1/auth/token/"): {A: 400, M: 400, "ministry": 400, "admin": 400, "anonymous": 400},
    # Directory: any logged-in staff.
    ("GET", "/api/v1/centers/"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ("GET", "/api/v1/centers/{id}/"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ("GET", "/api/v1/desks/"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ("GET", "/api/v1/desks/{id}/"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ("GET", "/api/v1/services/"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ("GET", "/api/v1/services/{code}/"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    # Clients, consents, cases: own center only; other centers' objects do not exist (404).
    ("GET", "/api/v1/clients/"): {A: 200, M: 200, **DENY_PII},
    ("POST", "/api/v1/clients/"): {A: 201, M: 201, **DENY_PII},
    ("GET", "/api/v1/clients/{id}/"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII},
    ("POST", "/api/v1/clients/{id}/consents/"): {
        A: {"own": 201, "other": 404},
        M: {"own": 201, "other": 404},
        **DENY_PII,
    },
    ("GET", "/api/v1/consents/{id}/"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII},
    ("POST", "/api/v1/consents/{id}/withdraw/"): {
        A: {"own": 200, "other": 404},
        M: {"own": 200, "other": 404},
        **DENY_PII,
    },
    ("GET", "/api/v1/cases/"): {A: 200, M: 200, **DENY_PII},
    # The client named in the body: another center's client is refused as a field error.
    ("POST", "/api/v1/cases/"): {A: {"own": 201, "other": 400}, M: {"own": 201, "other": 400}, **DENY_PII},
    ("GET", "/api/v1/cases/{id}/"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII},
    ("POST", "/api/v1/cases/{id}/notes/"): {A: {"own": 201, "other": 404}, M: {"own": 201, "other": 404}, **DENY_PII},
    ("POST", "/api/v1/cases/{id}/close/"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII},
    # Referrals: sent from or received by the own center; ministry 403, admin sees none.
    ("GET", "/api/v1/referrals/"): {A: 200, M: 200, "ministry": 403, "admin": 200, "anonymous": 401},
    ("POST", "/api/v1/referrals/"): {
        A: {"own": 201, "other": 400},
        M: {"own": 201, "other": 400},
        "ministry": 403,
        "admin": 403,
        "anonymous": 401,
    },
    ("GET", "/api/v1/referrals/{id}/"): {
        A: {"sent": 200, "received": 200, "other": 404},
        M: {"sent": 200, "received": 200, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": 401,
    },
}
# The referral slip (a PDF): both sides print it; it is a print in the access record.
API[("GET", "/api/v1/referrals/{id}/slip/")] = {
    A: {"sent": 200, "received": 200, "other": 404},
    M: {"sent": 200, "received": 200, "other": 404},
    "ministry": 403,
    "admin": 404,
    "anonymous": 401,
}
_RECEIVING = {"sent": 403, "received": 200, "other": 404}
_SENDING = {"sent": 200, "received": 403, "other": 404}
for _action in ("accept", "decline", "assign", "start", "hold", "resume", "complete", "fail", "cancel"):
    _own = _SENDING if _action == "cancel" else _RECEIVING
    API[("POST", f"/api/v1/referrals/{{id}}/{_action}/")] = {
        A: _own,
        M: _own,
        "ministry": 403,
        "admin": 404,
        "anonymous": 401,
    }
# Offering job postings: either side of the referral may; the matrix's referrals are not job placements, so
# the own center's answer is the domain refusal (409 not_job_placement) and another center's a 404
# (referral/tests/test_postings.py offers on a real job placement referral).
API[("POST", "/api/v1/referrals/{id}/postings/")] = {
    A: {"sent": 409, "received": 409, "other": 404},
    M: {"sent": 409, "received": 409, "other": 404},
    "ministry": 403,
    "admin": 404,
    "anonymous": 401,
}
# Appointments: either side books (POST) or frees (DELETE) the first meeting while the referral is open.
# The body names the first free slot of the referral's desk; a referral of no business of ours is a 404.
for _method in ("POST", "DELETE"):
    API[(_method, "/api/v1/referrals/{id}/appointment/")] = {
        A: {"sent": 200, "received": 200, "other": 404},
        M: {"sent": 200, "received": 200, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": 401,
    }
# A desk's bookable slots: directory data (places taken, no client), any staff member's to read.
API[("GET", "/api/v1/desks/{id}/slots/")] = {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401}
# Partner import batches: counselor and manager of the uploading center upload; a manager who did not
# upload approves (the counselor uploaded the `own` batch); another center's batch does not exist.
API[("POST", "/api/v1/imports/")] = {A: 201, M: 201, **DENY_PII}
API[("GET", "/api/v1/imports/{id}/")] = {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII}
API[("POST", "/api/v1/imports/{id}/approve/")] = {
    A: {"own": 403, "other": 404},
    M: {"own": 200, "other": 404},
    **DENY_PII,
}
API[("GET", "/api/v1/stats/monthly/")] = {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401}
# Safe job market: every staff role reads postings and screens; center staff report; ministry (and admin)
# review and read the suspect list; only the admin writes. The import takes multipart only: 415 for JSON.
_ALL_STAFF: dict[str, Expect] = {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401}
API[("GET", "/api/v1/jobs/postings/")] = _ALL_STAFF
API[("GET", "/api/v1/jobs/postings/{id}/")] = _ALL_STAFF
API[("POST", "/api/v1/jobs/screen/")] = _ALL_STAFF
API[("POST", "/api/v1/jobs/postings/")] = {A: 403, M: 403, "ministry": 403, "admin": 201, "anonymous": 401}
API[("POST", "/api/v1/jobs/postings/import/")] = {A: 403, M: 403, "ministry": 403, "admin": 415, "anonymous": 401}
API[("POST", "/api/v1/jobs/postings/{id}/review/")] = {A: 403, M: 403, "ministry": 200, "admin": 200, "anonymous": 401}
API[("POST", "/api/v1/jobs/postings/{id}/report/")] = {A: 201, M: 201, "ministry": 403, "admin": 403, "anonymous": 401}
API[("GET", "/api/v1/jobs/suspects/")] = {A: 403, M: 403, "ministry": 200, "admin": 200, "anonymous": 401}

# Query strings an operation needs to answer at all (the slots of the coming week).
API_QUERY: dict[str, dict[str, str]] = {
    # Downloads of personal data say why (recorded with the download).
    "/api/v1/privacy/provisions/": {"reason": "정기 점검"},
    "/api/v1/privacy/access-log/export/": {"reason": "정기 점검"},
    "/api/v1/desks/{id}/slots/": {
        "from": timezone.localdate().isoformat(),
        "to": (timezone.localdate() + dt.timedelta(days=6)).isoformat(),
    },
}


# Retention and destruction: only the privacy officer approves a batch (four eyes: the system proposed it).
API[("POST", "/api/v1/privacy/destructions/{id}/approve/")] = {
    A: 403,
    M: 403,
    "ministry": 403,
    "admin": 403,
    "privacy_officer": 200,
    "anonymous": 401,
}

# The person's requests: recorded by the client's center, answered by a manager or the privacy officer (the
# counselor may not); the provision ledger per client for the center, the whole ledger for the officer only.
API[("POST", "/api/v1/clients/{id}/requests/")] = {
    A: {"own": 201, "other": 404},
    M: {"own": 201, "other": 404},
    **DENY_PII,
}
API[("GET", "/api/v1/clients/{id}/provisions/")] = {
    A: {"own": 200, "other": 404},
    M: {"own": 200, "other": 404},
    **DENY_PII,
    "privacy_officer": 200,  # every client's ledger (ids and organizations, no name)
}
API[("GET", "/api/v1/privacy/requests/")] = {A: 200, M: 200, **DENY_PII, "privacy_officer": 200}
API[("POST", "/api/v1/privacy/requests/{id}/answer/")] = {A: 403, M: 200, **DENY_PII, "privacy_officer": 200}
# The report holds the person's cases: the center prints it, the officer does not read it.
API[("GET", "/api/v1/privacy/requests/{id}/report/")] = {A: 200, M: 200, **DENY_PII, "privacy_officer": 403}
API[("GET", "/api/v1/privacy/provisions/")] = {A: 403, M: 403, **DENY_PII, "privacy_officer": 200}
# The privacy officer's own: access records, their chain, the destruction ledger, the monthly review.
_OFFICER_ONLY: dict[str, Expect] = {A: 403, M: 403, **DENY_PII, "privacy_officer": 200}
for _path in (
    "/api/v1/privacy/access-log/",
    "/api/v1/privacy/access-log/verify/",
    "/api/v1/privacy/access-log/export/",
    "/api/v1/privacy/destructions/",
    "/api/v1/privacy/reviews/",
):
    API[("GET", _path)] = _OFFICER_ONLY
API[("POST", "/api/v1/privacy/reviews/{month}/sign/")] = _OFFICER_ONLY
# The permission history: the administrators' and the privacy officer's.
API[("GET", "/api/v1/staff/{id}/permission-history/")] = {
    A: 403,
    M: 403,
    **DENY_PII,
    "admin": 200,
    "privacy_officer": 200,
}

# API URLs that are not operations of the schema, by URL name.
API_EXTRA: dict[tuple[str, str], dict[str, Expect]] = {
    ("GET", "api-root"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ("GET", "schema"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 200},
    ("GET", "api-docs"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 200},
}

LOGIN = 302  # anonymous → the login page
DENY_PII_PAGE = {"ministry": 403, "admin": 403, "anonymous": LOGIN}
PAGES: dict[tuple[str, str], dict[str, Expect]] = {
    # Home sends each role to its landing page.
    ("GET", "home"): {A: 302, M: 302, "ministry": 302, "admin": 302, "anonymous": LOGIN},
    ("GET", "directory"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "healthz"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 200},
    ("GET", "livez"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 200},
    # Open by network (the test client is 127.0.0.1, inside METRICS_ALLOWED_NETWORKS), not by role.
    ("GET", "metrics"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 200},
    ("GET", "login"): {A: 302, M: 302, "ministry": 302, "admin": 302, "anonymous": 200},
    ("POST", "logout"): {A: 302, M: 302, "ministry": 302, "admin": 302, "anonymous": 302},
    ("POST", "set_language"): {A: 302, M: 302, "ministry": 302, "admin": 302, "anonymous": 302},
    ("GET", "password-change"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "otp-setup"): {A: 302, M: 200, "ministry": 302, "admin": 200, "anonymous": LOGIN},
    ("GET", "otp-verify"): {A: 302, M: 302, "ministry": 302, "admin": 302, "anonymous": LOGIN},
    # Cases pages: center staff of the object's center only.
    ("GET", "cases:intake"): {A: 200, M: 200, **DENY_PII_PAGE},
    # Intake for an existing client: another center's client does not exist.
    ("POST", "cases:intake"): {A: {"own": 302, "other": 404}, M: {"own": 302, "other": 404}, **DENY_PII_PAGE},
    ("GET", "cases:case_list"): {A: 200, M: 200, **DENY_PII_PAGE},
    ("GET", "cases:case_detail"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII_PAGE},
    ("POST", "cases:case_note_add"): {A: {"own": 302, "other": 404}, M: {"own": 302, "other": 404}, **DENY_PII_PAGE},
    ("POST", "cases:case_close"): {A: {"own": 302, "other": 404}, M: {"own": 302, "other": 404}, **DENY_PII_PAGE},
    ("GET", "cases:client_detail"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII_PAGE},
    ("POST", "cases:consent_add"): {A: {"own": 302, "other": 404}, M: {"own": 302, "other": 404}, **DENY_PII_PAGE},
    ("POST", "cases:consent_withdraw"): {
        A: {"own": 302, "other": 404},
        M: {"own": 302, "other": 404},
        **DENY_PII_PAGE,
    },
    # Partner import pages: center staff of the batch's center; only a manager who did not upload approves
    # (the page answers with a redirect and a message either way; "changes nothing" proves the refusal).
    ("GET", "cases:import_list"): {A: 200, M: 200, **DENY_PII_PAGE},
    ("POST", "cases:import_upload"): {A: 302, M: 302, **DENY_PII_PAGE},
    ("GET", "cases:import_detail"): {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII_PAGE},
    ("POST", "cases:import_approve"): {
        A: {"own": 302, "other": 404},
        M: {"own": 302, "other": 404},
        **DENY_PII_PAGE,
    },
    ("GET", "cases:import_template"): {A: 200, M: 200, **DENY_PII_PAGE},
    ("GET", "referral:import_report"): {
        A: {"own": 200, "other": 404},
        M: {"own": 200, "other": 404},
        "ministry": 403,
        "admin": 403,
        "anonymous": LOGIN,
    },
    # Referral pages: ministry gets the "not for your role" page; admin has no center, so empty lists.
    ("GET", "referral:queue"): {A: 200, M: 200, "ministry": 403, "admin": 200, "anonymous": LOGIN},
    ("GET", "referral:outgoing"): {A: 200, M: 200, "ministry": 403, "admin": 200, "anonymous": LOGIN},
    # Creation answers with a redirect either way; the "changes nothing" check proves the refusal.
    # Scope "other": the body names another center's case / referrals; nothing may change.
    ("POST", "referral:create"): {
        A: {"other": 302},
        M: {"other": 302},
        "ministry": 302,
        "admin": 302,
        "anonymous": LOGIN,
    },
    ("POST", "referral:create_many"): {
        A: {"other": 302},
        M: {"other": 302},
        "ministry": 302,
        "admin": 302,
        "anonymous": LOGIN,
    },
    ("GET", "referral:slip"): {
        A: {"sent": 200, "received": 200, "other": 404},
        M: {"sent": 200, "received": 200, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    ("POST", "referral:bulk_assign"): {
        A: {"other": 302},
        M: {"other": 302},
        "ministry": 403,
        "admin": 302,
        "anonymous": LOGIN,
    },
    ("GET", "referral:notifications"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    # The desk's day of appointments: the own center's desks (admin has none: an empty day).
    ("GET", "referral:appointments_day"): {A: 200, M: 200, "ministry": 403, "admin": 200, "anonymous": LOGIN},
    # The slot picker and the booking forms: either side of an open referral (a redirect with a message).
    ("GET", "referral:appointment_slots"): {
        A: {"sent": 200, "received": 200, "other": 404},
        M: {"sent": 200, "received": 200, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    ("POST", "referral:appointment_book"): {
        A: {"sent": 302, "received": 302, "other": 404},
        M: {"sent": 302, "received": 302, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    ("POST", "referral:appointment_cancel"): {
        A: {"sent": 302, "received": 302, "other": 404},
        M: {"sent": 302, "received": 302, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    ("GET", "referral:detail"): {
        A: {"sent": 200, "received": 200, "other": 404},
        M: {"sent": 200, "received": 200, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    ("POST", "referral:act"): {
        A: {"sent": 403, "received": 302, "other": 404},
        M: {"sent": 403, "received": 302, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    # The offer form answers with a redirect and a message (not a job placement) on either side.
    ("POST", "referral:offer_postings"): {
        A: {"sent": 302, "received": 302, "other": 404},
        M: {"sent": 302, "received": 302, "other": 404},
        "ministry": 403,
        "admin": 404,
        "anonymous": LOGIN,
    },
    # Statistics: own center for center staff, everything (aggregated) for ministry and admin.
    ("GET", "stats:dashboard"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "stats:export_csv"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "stats:export_xlsx"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    # Safe job market (the refused or empty forms answer with a redirect and a message).
    ("GET", "jobs:posting_list"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "jobs:posting_detail"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "jobs:employer_detail"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "jobs:check"): {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("GET", "jobs:suspect_list"): {A: 403, M: 403, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    # The review queue, with the screening model's cross-validated figures: reviewers only.
    ("GET", "jobs:review_queue"): {A: 403, M: 403, "ministry": 200, "admin": 200, "anonymous": LOGIN},
    ("POST", "jobs:suspect_export"): {A: 403, M: 403, "ministry": 302, "admin": 302, "anonymous": LOGIN},
    ("POST", "jobs:posting_review"): {A: 403, M: 403, "ministry": 302, "admin": 302, "anonymous": LOGIN},
    ("POST", "jobs:posting_report"): {A: 302, M: 302, "ministry": 403, "admin": 403, "anonymous": LOGIN},
}

# Retention, destruction, the monthly access review: the privacy officer's pages (the permission history also
# the admin's). Forms answer with a redirect and a message.
_OFFICER_PAGE = {A: 403, M: 403, "ministry": 403, "admin": 403, "anonymous": LOGIN}
for _name, _ok in (
    ("retention:destructions", 200),
    ("retention:destruction_detail", 200),
    ("retention:review", 200),
    ("retention:access_log", 200),
    ("retention:access_log_verify", 200),
):
    PAGES[("GET", _name)] = {**_OFFICER_PAGE, "privacy_officer": _ok}
for _name in (
    "retention:destruction_approve",
    "retention:hold_add",
    "retention:review_note",
    "retention:review_signoff",
):
    PAGES[("POST", _name)] = {**_OFFICER_PAGE, "privacy_officer": 302}
# The access-log export answers with the file itself.
PAGES[("POST", "retention:access_log_export")] = {**_OFFICER_PAGE, "privacy_officer": 200}
PAGES[("GET", "retention:permission_history")] = {**_OFFICER_PAGE, "admin": 200, "privacy_officer": 200}

# The person's requests: the client's center records and reads them, a manager (or the privacy officer) answers.
_REQUEST_PAGE: dict[str, Expect] = {
    A: 200,
    M: 200,
    "ministry": 403,
    "admin": 403,
    "anonymous": LOGIN,
    "privacy_officer": 200,
}
# The case page's referrals table, re-read by htmx while a referral is open: the case's center only.
PAGES[("GET", "referral:case_referrals")] = {
    A: {"own": 200, "other": 404},
    M: {"own": 200, "other": 404},
    **DENY_PII_PAGE,
}
PAGES[("GET", "privacy:request_list")] = _REQUEST_PAGE
PAGES[("GET", "privacy:request_detail")] = _REQUEST_PAGE
PAGES[("GET", "privacy:request_report")] = {**_REQUEST_PAGE, "privacy_officer": 403}
PAGES[("POST", "privacy:request_answer")] = {**_REQUEST_PAGE, A: 403, M: 302, "privacy_officer": 302}
PAGES[("GET", "privacy:request_new")] = {A: {"own": 200, "other": 404}, M: {"own": 200, "other": 404}, **DENY_PII_PAGE}
PAGES[("POST", "privacy:request_new")] = {A: {"own": 302, "other": 404}, M: {"own": 302, "other": 404}, **DENY_PII_PAGE}

# Extra probes: same endpoint, parameters that try to reach across centers.
PROBES: list[tuple[str, str, dict[str, str], dict[str, Expect]]] = [
    ("GET", "/api/v1/clients/", {"q": OTHER_NAME}, {A: 200, M: 200, **DENY_PII}),
    ("GET", "/api/v1/clients/", {"q": _digits(OTHER_PHONE)}, {A: 200, M: 200, **DENY_PII}),
    ("GET", "/api/v1/clients/", {"q": "1983-02-11"}, {A: 200, M: 200, **DENY_PII}),
    ("GET", "/api/v1/cases/", {"mine": "true", "status": "open"}, {A: 200, M: 200, **DENY_PII}),
    (
        "GET",
        "/api/v1/referrals/",
        {"box": "outgoing"},
        {A: 200, M: 200, "ministry": 403, "admin": 200, "anonymous": 401},
    ),
    (
        "GET",
        "/api/v1/referrals/",
        {"box": "incoming", "status": "open"},
        {A: 200, M: 200, "ministry": 403, "admin": 200, "anonymous": 401},
    ),
    (
        "GET",
        "/api/v1/stats/monthly/",
        {"center": "EW-BUSAN-SAHA"},
        {A: 403, M: 403, "ministry": 200, "admin": 200, "anonymous": 401},
    ),
    (
        "GET",
        "/api/v1/stats/monthly/",
        {"group": "center"},
        {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ),
    (
        "GET",
        "/api/v1/stats/monthly/",
        {"format": "csv", "group": "service"},
        {A: 200, M: 200, "ministry": 200, "admin": 200, "anonymous": 401},
    ),
]


# Job postings and statistics are the work of center staff, reviewers and administrators, not the privacy
# officer's (who never reads case content; statistics are the ministry's): refused.
for _table in (API, API_EXTRA, PAGES):
    for (_method, _where), _expect in _table.items():
        if _where.startswith(("/api/v1/jobs/", "/api/v1/stats/", "jobs:", "stats:")):
            _expect.setdefault("privacy_officer", 403)
for _method, _where, _query, _expect in PROBES:
    if _where.startswith("/api/v1/stats/"):
        _expect.setdefault("privacy_officer", 403)
# Elsewhere the officer, of no center like the administrator, holds no client, case or referral: the
# administrator's answer, unless the entry names the officer.
for _table in (API, API_EXTRA, PAGES):
    for _expect in _table.values():
        _expect.setdefault("privacy_officer", _expect["admin"])
for _method, _where, _query, _expect in PROBES:
    _expect.setdefault("privacy_officer", _expect["admin"])


# --- The world every row starts from. -------------------------------------------------------------------
@dataclass
class World:
    users: dict[str, Any]
    ids: dict[str, dict[str, int]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def _client_with_case(user: Any, *, name: str, phone: str, birth: dt.date, serial: str | None, note: str) -> Case:
    client = case_services.client_register(
        user=user,
        facts=client_facts_parse(
            {
                "name": name,
                "birth_date": birth,
                "phone": phone,
                "rrn": valid_rrn(birth, serial=serial) if serial else "",
            }
        ),
    )
    case_services.consent_record(
        user=user,
        client=client,
        purpose="referral",
        method="paper",
        organization_kinds=["employment_welfare", "microfinance", "local_government"],
    )
    case = case_services.case_open(
        user=user,
        client=client,
        opening=case_opening_parse(
            {
                "channel": "walk_in",
                "needs": [
                    {"domain": "finance", "code": "debt_adjustment"},
                    {"domain": "employment", "code": "job_search"},
                ],
                "note": note,
            }
        ),
    )
    case_services.case_note_add(user=user, case=case, text=note)
    return case


def _import_batch(user: Any, name: str, capture: Any) -> ImportBatch:
    day = timezone.localdate().isoformat()
    row = {
        "name": name,
        "birth_date": "1975-05-05",
        "phone": "010-5151-2626",
        "needs": "debt_adjustment",
        "service": "debt_adjustment",
        "consent_date": day,
        "consent_method": "paper",
        "consent_kinds": "microfinance",
    }
    with capture(execute=True):
        batch, _created = import_batch_create(user=user, parsed=import_json_parse({"rows": [row]}))
    batch.refresh_from_db()
    assert batch.status == "ready", batch.errors
    return batch


def _applied_elsewhere(busan: Any, capture: Any) -> ImportBatch:
    from centers.services import staff_create_or_update

    manager, _created = staff_create_or_update(
        username="matrix_busan_manager",
        password="correct-horse-battery-staple-42",
        role="center_manager",
        center_code="EW-BUSAN-SAHA",
        email="matrix_busan_manager@example.kr",
        check_password_strength=False,
    )
    batch = _import_batch(busan, "부산반영대상", capture)
    with capture(execute=True):
        import_batch_approve(user=manager, batch_id=batch.pk)
    return batch


def _send(user: Any, case: Case, service: str, capture: Any) -> Referral:
    with capture(execute=True):
        r = referral_services.referral_create(by=user, case_id=case.pk, service_code=service, note="연계 요청 메모")
    r.refresh_from_db()
    assert r.to_desk_id is not None, f"{service} from {case.center.code} was not routed"
    return r


@pytest.fixture
def world(directory, make_staff, django_capture_on_commit_callbacks, settings) -> World:
    rest: dict[str, Any] = copy.deepcopy(django_settings.REST_FRAMEWORK)
    rest["DEFAULT_THROTTLE_RATES"].update({"user": "1000000/min", "anon": "1000000/min", "login": "1000000/min"})
    settings.REST_FRAMEWORK = rest
    settings.AXES_ENABLED = False
    users = {
        A: make_staff("counselor", "EW-SEOUL-GWANAK", username="matrix_counselor"),
        M: make_staff("center_manager", "EW-SEOUL-GWANAK", username="matrix_manager"),
        "ministry": make_staff("ministry", None, username="matrix_ministry"),
        "admin": make_staff("admin", None, username="matrix_admin"),
        "privacy_officer": make_staff("privacy_officer", None, username="matrix_officer"),
        "anonymous": None,
    }
    mf = make_staff("counselor", "MF-SEOUL-GWANAK", username="matrix_mf")
    busan = make_staff("counselor", "EW-BUSAN-SAHA", username="matrix_busan")
    capture = django_capture_on_commit_callbacks

    own_case = _client_with_case(
        users[A], name=OWN_NAME, phone=OWN_PHONE, birth=dt.date(1986, 7, 15), serial=OWN_RRN_SERIAL, note=OWN_NOTE
    )
    other_case = _client_with_case(
        busan, name=OTHER_NAME, phone=OTHER_PHONE, birth=dt.date(1983, 2, 11), serial=OTHER_RRN_SERIAL, note=OTHER_NOTE
    )
    inbound_case = _client_with_case(
        mf, name=INBOUND_NAME, phone=INBOUND_PHONE, birth=dt.date(1990, 5, 5), serial=None, note=INBOUND_CASE_NOTE
    )
    busan_ref_case = _client_with_case(
        busan, name=OTHER_REF_NAME, phone=OTHER_REF_PHONE, birth=dt.date(1979, 9, 9), serial=None, note=OTHER_NOTE
    )

    sent = _send(users[A], own_case, "debt_adjustment", capture)
    assert sent.to_center is not None and sent.to_center.code == "MF-SEOUL-GWANAK"
    received = {}
    for n, state in enumerate(("requested", "accepted", "on_hold")):
        # One open referral per case and service: each state gets its own inbound client and case.
        case = inbound_case
        if n:
            case = _client_with_case(
                mf,
                name=INBOUND_NAME,
                phone=f"010-6612-90{50 + n}",
                birth=dt.date(1990, 5, 5),
                serial=None,
                note="수신 메모",
            )
        r = _send(mf, case, "unemployment_benefit", capture)
        assert r.to_center is not None and r.to_center.code == "EW-SEOUL-GWANAK"
        if state in ("accepted", "on_hold"):
            referral_services.referral_accept(referral_id=r.pk, by=users[A])
        if state == "on_hold":
            referral_services.referral_hold(referral_id=r.pk, by=users[A])
        received[state] = r.pk
    other_ref = _send(busan, busan_ref_case, "debt_adjustment", capture)
    assert other_ref.to_center is not None and other_ref.to_center.code == "MF-BUSAN"

    posting = job_services.posting_create(
        by=users["admin"],
        data=job_services.PostingInput(
            title="통장 사본 먼저 보내주세요",
            content="고수익 보장",
            employer_name="수상한상사",
            contact="010-1111-2222",
        ),
    )
    own_batch = _import_batch(users[A], "관악명단대상", capture)
    other_batch = _import_batch(busan, "부산명단대상", capture)
    applied = _import_batch(users[A], "관악반영대상", capture)
    with capture(execute=True):
        import_batch_approve(user=users[M], batch_id=applied.pk)
    # A destruction batch the scheduled job proposed, and last month's access review with one flag.
    from privacy.access_review import month_start, previous_month
    from privacy.retention_models import AccessFlag, AccessReview, DestructionBatch, DestructionItem

    destruction_batch = DestructionBatch.objects.create(proposed_at=timezone.now())
    DestructionItem.objects.create(
        batch=destruction_batch,
        client_id=own_case.client_id,
        record_type="identity",
        ground="consent_withdrawn",
        due_on=timezone.localdate(),
        rows=1,
    )
    review = AccessReview.objects.create(month=previous_month(month_start(timezone.localdate())))
    flag = AccessFlag.objects.create(
        review=review,
        kind="download",
        user=users[A],
        detail="download",
        first_at=timezone.now(),
        last_at=timezone.now(),
        rows=1,
    )
    subject_request = SubjectRequest.objects.create(
        client_id=own_case.client_id,
        center_id=own_case.center_id,
        kind="access",
        received_at=timezone.now(),
        due_at=timezone.now() + dt.timedelta(days=10),
        identity_check="id_card",
        received_by=users[A],
    )
    ids: dict[str, dict[str, int]] = {
        "privacy": {"none": destruction_batch.pk},
        "subject_request": {"none": subject_request.pk},
        "access_flag": {"none": flag.pk},
        "import": {"own": own_batch.pk, "other": other_batch.pk},
        "import_applied": {"own": applied.pk, "other": _applied_elsewhere(busan, capture).pk},
        "client": {"own": own_case.client_id, "other": other_case.client_id},
        "case": {"own": own_case.pk, "other": other_case.pk},
        "consent": {
            "own": Consent.objects.get(client_id=own_case.client_id).pk,
            "other": Consent.objects.get(client_id=other_case.client_id).pk,
        },
        "referral": {"sent": sent.pk, "received": received["requested"], "other": other_ref.pk},
        "center": {"none": Center.objects.get(code="EW-SEOUL-GWANAK").pk},
        "desk": {"none": sent.to_desk_id or 0},
        # /api/v1/jobs/postings/{id}/: the path's fourth segment names the kind ("jobs" → "job").
        "job": {"none": posting.pk},
        "employer": {"none": posting.employer_id or 0},
        "staff": {"none": users[A].pk},
    }
    return World(users=users, ids=ids, extra={"received": received})


# --- Requests. ------------------------------------------------------------------------------------------
# Which received referral an action needs to be meaningful (the state the action starts from).
RECEIVED_STATE = {"start": "accepted", "hold": "accepted", "complete": "accepted", "fail": "accepted"}
RECEIVED_STATE["resume"] = "on_hold"


def _referral_id(world: World, scope: str, action: str | None) -> int:
    if scope == "received" and action:
        return world.extra["received"][RECEIVED_STATE.get(action, "requested")]
    return world.ids["referral"][scope]


_IMPORT_ROW = {
    "name": "명단신규",
    "birth_date": "1980-08-08",
    "phone": "010-3030-4040",
    "needs": "job_search",
    "service": "job_placement",
    "consent_method": "paper",
    "consent_kinds": "employment_welfare",
}


def _api_body(key: tuple[str, str], world: World, scope: str, role: str) -> dict[str, Any]:
    user = world.users[role]
    path = key[1]
    if path == "/api/v1/auth/token/":
        return {"username": getattr(user, "username", "nobody"), "password": "wrong-password"}
    if path == "/api/v1/clients/":
        return {"name": "새내담자", "birth_date": "1991-01-02", "phone": "010-2000-3000"}
    if path.endswith("/consents/"):
        return {"purpose": "referral", "organization_kinds": ["microfinance"], "method": "paper"}
    if path == "/api/v1/cases/":
        return {"client": world.ids["client"][scope], "channel": "walk_in"}
    if path.endswith("/requests/"):
        return {"kind": "access", "identity_check": "id_card"}
    if path.startswith("/api/v1/privacy/requests/") and path.endswith("/answer/"):
        return {"decision": "granted"}
    if path.endswith("/notes/"):
        return {"text": "추가 메모"}
    if path == "/api/v1/jobs/postings/":
        return {"title": "주방 보조", "wage_type": "monthly", "wage": 2_400_000, "employer": {"name": "식당"}}
    if path == "/api/v1/jobs/screen/":
        return {"title": "고수익 보장 재택 부업"}
    if path.startswith("/api/v1/jobs/postings/") and path.endswith("/review/"):
        return {"decision": "cleared", "reason": "확인 결과 정상"}
    if path.startswith("/api/v1/jobs/postings/") and path.endswith("/report/"):
        return {"reason": "교육비 요구"}
    if path == "/api/v1/referrals/":
        return {"case": world.ids["case"][scope], "service": "policy_microloan"}
    if path == "/api/v1/imports/":
        return {"rows": [{**_IMPORT_ROW, "consent_date": timezone.localdate().isoformat()}]}
    if path.endswith("/appointment/"):
        return {"start": _first_free_slot(_referral_id(world, scope, None))}
    action = path.rstrip("/").rsplit("/", 1)[-1]
    bodies: dict[str, dict[str, Any]] = {
        "decline": {"reason": "no_capacity"},
        "assign": {"assigned_to": getattr(user, "pk", 0)},
        "complete": {"outcome": "benefit_granted", "achieved": True},
        "fail": {"reason": "no_show"},
        "cancel": {"reason": "client_request"},
        "postings": {"postings": [world.ids["job"]["none"]], "reason": "본인 희망"},
    }
    return bodies.get(action, {})


def _first_free_slot(referral_id: int) -> str:
    """The start of the first slot with a place left at the referral's desk (ISO 8601, Seoul offset)."""
    from referral.selectors import next_free_slots

    desk = Referral.objects.select_related("to_desk").get(pk=referral_id).to_desk
    assert desk is not None
    return next_free_slots(desk, days=31, limit=1)[0].start.isoformat()


def _scopes(expect: dict[str, Expect]) -> list[str]:
    for v in expect.values():
        if isinstance(v, dict):
            return list(v)
    return ["none"]


def _expected(expect: dict[str, Expect], role: str, scope: str) -> int:
    v = expect[role]
    return v[scope] if isinstance(v, dict) else v


def _snapshot() -> tuple:
    """What a refused write must not change."""
    return (
        Client.objects.count(),
        Case.objects.count(),
        Case.objects.filter(status="closed").count(),
        CaseNote.objects.count(),
        Consent.objects.count(),
        Consent.objects.filter(withdrawn_at__isnull=False).count(),
        Referral.objects.count(),
        ReferralEvent.objects.count(),
        ImportBatch.objects.count(),
        ImportBatch.objects.exclude(status="ready").count(),
        Appointment.objects.count(),
        Appointment.objects.filter(cancelled_at__isnull=False).count(),
    )


def _body_text(resp: Any) -> str:
    raw = resp.content if hasattr(resp, "content") else b"".join(resp.streaming_content)
    text = raw.decode("utf-8", "replace")
    if resp.get("Content-Type", "").startswith("text/plain; version="):
        # Prometheus exposition: a sample's value is a measurement (bytes, seconds), and any digit run can turn
        # up in one; the names and labels, which could carry data, are still searched.
        text = re.sub(r"(?m)^([^#\s][^ ]*) \S+( \S+)?$", r"\1", text)
    if resp.get("Content-Type", "").startswith("application/json"):
        try:
            text += json.dumps(json.loads(raw), ensure_ascii=False)
        except ValueError:
            pass
    return text


def _leaks(text: str, role: str) -> list[str]:
    forbidden = list(NEVER)
    if role in ("ministry", "admin", "privacy_officer", "anonymous"):
        forbidden += ALL_PII
    else:
        forbidden += NOT_FOR_OWN_CENTER
    return [t for t in forbidden if t in text]


def _run(role: str, world: World, do: Callable[[Any], Any], *, scope: str) -> tuple[int, str, bool]:
    """One request in a rolled-back savepoint: (status, body, whether it changed rows)."""
    before = _snapshot()
    with transaction.atomic():
        resp = do(world.users[role])
        changed = _snapshot() != before
        transaction.set_rollback(True)
    return resp.status_code, _body_text(resp), changed


def _api_call(key: tuple[str, str], world: World, role: str, scope: str, suffix: str = "", query=None):
    method, template = key
    action = template.rstrip("/").rsplit("/", 1)[-1] if template.startswith("/api/v1/referrals/{id}/") else None
    path = template
    if "{id}" in path:
        kind = template.split("/")[3].rstrip("s")
        if template.startswith("/api/v1/privacy/requests/"):
            kind = "subject_request"
        pk = _referral_id(world, scope, action) if kind == "referral" else world.ids[kind][scope]
        path = path.replace("{id}", str(pk))
    path = path.replace("{code}", "debt_adjustment")
    path = path.replace("{month}", f"{previous_month(month_start(timezone.localdate())):%Y-%m}")
    if suffix:
        path = path.rstrip("/") + suffix

    def do(user: Any) -> Any:
        api = APIClient()
        if user is not None:
            api.force_authenticate(user)
        if method == "GET":
            return api.get(path, query if query is not None else API_QUERY.get(template, {}))
        if method == "DELETE":
            return api.delete(path)
        return api.post(path, _api_body(key, world, scope, role), format="json")

    return _run(role, world, do, scope=scope)


def _check(results: list[str], label: str, role: str, scope: str, want: int, got: int, body: str, changed: bool):
    if got != want:
        results.append(f"{label} as {role}/{scope}: expected {want}, got {got}: {body[:200]!r}")
    leaks = _leaks(body, role)
    if leaks:
        results.append(f"{label} as {role}/{scope}: LEAKS {leaks}")
    if changed and (scope == "other" or want >= 400 or role in ("ministry", "admin", "privacy_officer", "anonymous")):
        if not (label.startswith("POST /api/v1/auth/") or label.startswith("POST logout")):
            results.append(f"{label} as {role}/{scope}: a refused request changed rows")


def test_every_api_operation_answers_each_role_and_scope_as_the_table_says(world):
    # One world for the whole table (loading the directory is the slow part); each request is rolled back.
    problems: list[str] = []
    for key, expect in sorted(API.items()):
        problems += _api_operation(world, key, expect)
    assert not problems, "\n".join(problems)


def _api_operation(world: World, key: tuple[str, str], expect: dict[str, Expect]) -> list[str]:
    problems: list[str] = []
    for role in ROLES:
        for scope in _scopes(expect):
            want = _expected(expect, role, scope)
            got, body, changed = _api_call(key, world, role, scope)
            _check(problems, f"{key[0]} {key[1]}", role, scope, want, got, body, changed)
            if key[0] == "GET" and "{" in key[1]:
                # The format-suffix route (…/1.json) is the same view: same answer, same scope.
                got, body, changed = _api_call(key, world, role, scope, suffix=".json")
                _check(problems, f"{key[0]} {key[1]} (.json)", role, scope, want, got, body, changed)
    return problems


def test_api_filters_never_reach_into_another_center(world):
    problems: list[str] = []
    for (method, path, query, expect), role in itertools.product(PROBES, ROLES):
        got, body, changed = _api_call((method, path), world, role, "none", query=query)
        _check(problems, f"{method} {path}?{query}", role, "none", _expected(expect, role, "none"), got, body, changed)
    assert not problems, "\n".join(problems)


def _page_url(name: str, world: World, scope: str) -> str:
    pattern_kwargs: dict[str, Callable[[], dict[str, Any]]] = {
        "cases:case_detail": lambda: {"pk": world.ids["case"][scope]},
        "cases:case_note_add": lambda: {"pk": world.ids["case"][scope]},
        "cases:case_close": lambda: {"pk": world.ids["case"][scope]},
        "referral:case_referrals": lambda: {"pk": world.ids["case"][scope]},
        "cases:client_detail": lambda: {"pk": world.ids["client"][scope]},
        "cases:consent_add": lambda: {"pk": world.ids["client"][scope]},
        "cases:consent_withdraw": lambda: {"pk": world.ids["consent"][scope]},
        "referral:detail": lambda: {"pk": _referral_id(world, scope, None)},
        "referral:slip": lambda: {"pk": _referral_id(world, scope, None)},
        "referral:act": lambda: {"pk": _referral_id(world, scope, "accept"), "action": "accept"},
        "referral:offer_postings": lambda: {"pk": _referral_id(world, scope, None)},
        "referral:appointment_slots": lambda: {"pk": _referral_id(world, scope, None)},
        "referral:appointment_book": lambda: {"pk": _referral_id(world, scope, None)},
        "referral:appointment_cancel": lambda: {"pk": _referral_id(world, scope, None)},
        "jobs:posting_detail": lambda: {"pk": world.ids["job"]["none"]},
        "jobs:posting_review": lambda: {"pk": world.ids["job"]["none"]},
        "jobs:posting_report": lambda: {"pk": world.ids["job"]["none"]},
        "jobs:employer_detail": lambda: {"pk": world.ids["employer"]["none"]},
        "cases:import_detail": lambda: {"pk": world.ids["import"][scope]},
        "cases:import_approve": lambda: {"pk": world.ids["import"][scope]},
        "cases:import_template": lambda: {"fmt": "xlsx"},
        "referral:import_report": lambda: {"pk": world.ids["import_applied"][scope]},
        "retention:destruction_detail": lambda: {"pk": world.ids["privacy"]["none"]},
        "retention:destruction_approve": lambda: {"pk": world.ids["privacy"]["none"]},
        "retention:review_note": lambda: {"pk": world.ids["access_flag"]["none"]},
        "privacy:request_detail": lambda: {"pk": world.ids["subject_request"]["none"]},
        "privacy:request_answer": lambda: {"pk": world.ids["subject_request"]["none"]},
        "privacy:request_report": lambda: {"pk": world.ids["subject_request"]["none"]},
        "privacy:request_new": lambda: {"client_id": world.ids["client"][scope]},
    }
    return reverse(name, kwargs=pattern_kwargs[name]()) if name in pattern_kwargs else reverse(name)


def _page_body(name: str, world: World, scope: str) -> dict[str, Any]:
    if name == "cases:intake":
        return {
            "client": world.ids["client"][scope],
            "collection_consent": "on",
            "consent_method": "paper",
            "channel": "walk_in",
            "needs": ["job_search"],
            "income_band": "unknown",
            "employment_status": "unknown",
            "debt_status": "unknown",
        }
    if name == "cases:case_note_add":
        return {"text": "메모"}
    if name == "privacy:request_new":
        return {"kind": "access", "identity_check": "id_card", "received_at": ""}
    if name == "privacy:request_answer":
        return {"decision": "granted"}
    if name == "cases:case_close":
        return {"result": "resolved"}
    if name == "cases:consent_add":
        return {"purpose": "referral", "organization_kinds": ["microfinance"], "method": "paper"}
    if name == "referral:create":
        # A referral from another center's case: must be refused (a message, nothing created).
        return {"case": world.ids["case"]["other"], "service": "policy_microloan"}
    if name == "referral:create_many":
        # Another center's case: refused whole (a message, nothing created).
        return {
            "case": world.ids["case"]["other"],
            "service": ["policy_microloan", "job_placement"],
            "priority": ["normal", "urgent"],
            "note": ["", ""],
        }
    if name == "referral:bulk_assign":
        return {"ids": [world.ids["referral"]["other"], world.ids["referral"]["sent"]], "assigned_to": "1"}
    if name == "referral:offer_postings":
        return {"postings": [str(world.ids["job"]["none"])], "reason": "본인 희망"}
    if name == "referral:appointment_book":
        return {"start": _first_free_slot(_referral_id(world, scope, None))}
    if name == "set_language":
        return {"language": "en", "next": "/"}
    if name == "retention:hold_add":
        return {"client": world.ids["client"]["own"], "basis": "litigation"}
    if name == "retention:review_note":
        return {"note": "확인함", "month": ""}
    if name == "retention:access_log_export":
        return {"reason": "정기 점검"}
    if name == "retention:review_signoff":
        from privacy.access_review import month_start, previous_month

        return {"month": f"{previous_month(month_start(timezone.localdate())):%Y-%m}", "conclusion": "이상 없음"}
    return {}


def test_every_page_answers_each_role_and_scope_as_the_table_says(world):
    problems: list[str] = []
    for (method, name), expect in sorted(PAGES.items()):
        problems += _page(world, method, name, expect)
    assert not problems, "\n".join(problems)


def _page(world: World, method: str, name: str, expect: dict[str, Expect]) -> list[str]:
    problems: list[str] = []
    for role in ROLES:
        for scope in _scopes(expect):
            url = _page_url(name, world, scope)

            def do(user: Any, url: str = url, scope: str = scope) -> Any:
                client = PageClient()
                if user is not None:
                    client.force_login(user)
                if method == "GET":
                    return client.get(url)
                return client.post(url, _page_body(name, world, scope))

            want = _expected(expect, role, scope)
            got, body, changed = _run(role, world, do, scope=scope)
            _check(problems, f"{method} {name}", role, scope, want, got, body, changed)
    return problems


def test_referral_creation_page_refuses_another_centers_case_and_creates_nothing(world):
    client = PageClient()
    client.force_login(world.users[A])
    before = Referral.objects.count()
    resp = client.post(
        reverse("referral:create"), {"case": world.ids["case"]["other"], "service": "policy_microloan"}, follow=True
    )
    assert Referral.objects.count() == before
    assert "소속 센터에 해당 사례가 없습니다." in resp.content.decode()


def test_receiving_desk_sees_the_name_contact_and_need_but_not_the_senders_case_notes(world):
    pk = world.ids["referral"]["received"]
    api = APIClient()
    api.force_authenticate(world.users[A])
    data = api.get(f"/api/v1/referrals/{pk}/").json()
    assert data["client"] == {"id": data["client"]["id"], "name": INBOUND_NAME, "phone": INBOUND_PHONE}
    assert INBOUND_CASE_NOTE not in json.dumps(data, ensure_ascii=False)
    page = PageClient()
    page.force_login(world.users[A])
    html = page.get(reverse("referral:detail", args=[pk])).content.decode()
    assert INBOUND_NAME in html and INBOUND_PHONE in html
    assert INBOUND_CASE_NOTE not in html
    # …and cannot open the sender's case or client behind it.
    case_id = data["case"]
    assert api.get(f"/api/v1/cases/{case_id}/").status_code == 404
    assert api.get(f"/api/v1/clients/{data['client']['id']}/").status_code == 404


def test_a_declining_center_gets_its_answer_and_then_loses_sight_of_the_referral(
    world, django_capture_on_commit_callbacks
):
    pk = world.ids["referral"]["received"]
    api = APIClient()
    api.force_authenticate(world.users[A])
    with django_capture_on_commit_callbacks(execute=True):
        resp = api.post(f"/api/v1/referrals/{pk}/decline/", {"reason": "out_of_area"}, format="json")
    assert resp.status_code == 200
    assert Referral.objects.get(pk=pk).to_center_id != world.ids["center"]["none"]
    assert api.get(f"/api/v1/referrals/{pk}/").status_code == 404
    assert pk not in [r["id"] for r in api.get("/api/v1/referrals/", {"box": "incoming"}).json()["results"]]
    page = PageClient()
    page.force_login(world.users[M])
    assert page.get(reverse("referral:detail", args=[pk])).status_code == 404


# --- Completeness: a new endpoint or page without an entry fails here. ----------------------------------
def _schema_operations() -> set[tuple[str, str]]:
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    return {
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    }


def _named_urls() -> dict[str, str]:
    """URL name (namespaced) → route, outside the admin site (format-suffix twins are the same views)."""
    out: dict[str, str] = {}

    def walk(patterns: list, prefix: str, namespace: str | None) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                if p.namespace == "admin":
                    continue
                ns = ":".join(x for x in (namespace, p.namespace) if x) or None
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and p.name and "format" not in str(p.pattern):
                out[f"{namespace}:{p.name}" if namespace else p.name] = prefix + str(p.pattern)

    walk(get_resolver().url_patterns, "", None)
    return out


def _schema_path(route: str) -> str:
    """`api/v1/^clients/(?P<pk>\\d+)/consents/$` → `/api/v1/clients/{id}/consents/` (the schema's spelling)."""
    path = route.replace("^", "").replace("$", "")
    path = re.sub(r"\(\?P<pk>[^)]*\)", "{id}", path)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", path)
    path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", path)
    return "/" + path


def test_every_endpoint_and_page_has_an_expected_entry():
    operations = _schema_operations()
    assert operations == set(API), (
        f"operations without an entry: {operations - set(API)}; stale entries: {set(API) - operations}"
    )
    schema_paths = {path for _m, path in operations}
    urls = _named_urls()
    outside = {
        name
        for name, route in urls.items()
        if route.startswith("api/") and "format" not in route and _schema_path(route) not in schema_paths
    }
    extra = {name for _m, name in API_EXTRA}
    assert outside == extra, f"API URLs outside the schema without an entry: {outside - extra}"
    pages = {name for name, route in urls.items() if not route.startswith("api/")}
    listed = {name for _m, name in PAGES}
    assert pages == listed, f"pages without an entry: {pages - listed}; stale entries: {listed - pages}"
    for table in (API, API_EXTRA, PAGES):
        for key, expect in table.items():
            assert set(expect) == set(ROLES), f"{key} must name every role"


def test_api_urls_outside_the_schema_answer_as_the_table_says(world):
    problems: list[str] = []
    for (_method, name), role in itertools.product(sorted(API_EXTRA), ROLES):
        key = (_method, name)

        def do(user: Any, name: str = name) -> Any:
            api = APIClient()
            if user is not None:
                api.force_authenticate(user)
            return api.get(reverse(name))

        got, body, changed = _run(role, world, do, scope="none")
        _check(problems, f"GET {name}", role, "none", _expected(API_EXTRA[key], role, "none"), got, body, changed)
    assert not problems, "\n".join(problems)
