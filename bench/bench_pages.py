"""Pages and API at the benchmark size: server time in-process (Django's test Client, full middleware
stack, templates rendered, PII access log written) against the raw SQL the same view needs.

Logged in as the busiest receiving center's manager (queue, referral page) and counselor (client
search, case list). Each row also records the number of queries one request runs.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from bench.bench_sql import page_sql
from bench.common import Context, Row, compare, measure
from bench.sql import params_cycle

TARGET = "p95 < 100 ms, <= 3x raw SQL"


def _client(username: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="ko", raise_request_exception=True)
    client.force_login(get_user_model().objects.get(username=username))
    return client


def _get(client: Client, urls: Callable[[], str], **extra: Any) -> Callable[[], None]:
    def call() -> None:
        response = client.get(urls(), **extra)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code} from {response.request['PATH_INFO']}")

    return call


def _queries(fn: Callable[[], None]) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


def run(ctx: Context) -> list[Row]:
    s = ctx.sample
    manager = _client(s.manager_username)
    counselor = _client(s.counselor_username)
    api_headers = {"HTTP_ACCEPT": "application/json"}
    refs = itertools.cycle(s.referral_ids)
    prefixes = itertools.cycle(s.name_prefixes)
    phones = itertools.cycle(s.phones)
    intake = reverse("cases:intake")
    cases = reverse("cases:case_list")

    # (row name, raw SQL page for the baseline, the call)
    subjects: list[tuple[str, str, Callable[[], None]]] = [
        ("incoming queue page", "incoming queue", _get(manager, lambda: reverse("referral:queue"))),
        (
            "incoming queue API",
            "incoming queue",
            _get(manager, lambda: "/api/v1/referrals/?box=incoming&status=open", **api_headers),
        ),
        (
            "incoming queue API, every status",
            "incoming queue",
            _get(manager, lambda: "/api/v1/referrals/?box=incoming", **api_headers),
        ),
        (
            "referral page",
            "referral page",
            _get(manager, lambda: reverse("referral:detail", args=[next(refs)])),
        ),
        (
            "referral API",
            "referral page",
            _get(manager, lambda: f"/api/v1/referrals/{next(refs)}/", **api_headers),
        ),
        (
            "client search page (name prefix)",
            "client search (name prefix)",
            _get(counselor, lambda: f"{intake}?q={next(prefixes)}"),
        ),
        (
            # What the intake page's search sends since it swaps its own section (htmx): the section alone.
            "client search, the intake page's htmx swap (name prefix)",
            "client search (name prefix)",
            _get(
                counselor,
                lambda: f"{intake}?q={next(prefixes)}",
                HTTP_HX_REQUEST="true",
                HTTP_HX_TARGET="client-search",
            ),
        ),
        (
            "client search API (name prefix)",
            "client search (name prefix)",
            _get(counselor, lambda: f"/api/v1/clients/?q={next(prefixes)}", **api_headers),
        ),
        (
            "client search API (last 4 digits of phone)",
            "client search (last 4 digits of phone)",
            _get(counselor, lambda: f"/api/v1/clients/?q={next(phones)[-4:]}", **api_headers),
        ),
        (
            "client search API (whole phone number)",
            "client search (phone)",
            _get(counselor, lambda: f"/api/v1/clients/?q={next(phones)}", **api_headers),
        ),
        ("case list page (center's open cases)", "case list", _get(counselor, lambda: f"{cases}?mine=0")),
    ]
    # The framework floor: an authenticated page that reads no data (session, middleware, OTP check,
    # notification badge, base template). Whatever a page costs above it is its own work. Its reference is a
    # bare Django view that only reads the session, through the same middleware, in the same run.
    floor = measure(_get(manager, lambda: reverse("password-change")), n=ctx.repeat)
    with override_settings(ROOT_URLCONF="bench.floor_urls"):
        bare = measure(_get(manager, lambda: "/bench/bare/"), n=ctx.repeat)
        bare_queries = _queries(_get(manager, lambda: "/bench/bare/"))
    rows = [
        compare(
            "floor: authenticated page with no data (password form)",
            floor,
            baseline=f"bare Django view reading the session ({bare_queries} queries)",
            base=bare,
            target="<= 4 queries, <= 2x the bare view",
            max_ratio=2,
            note=f"{_queries(_get(manager, lambda: reverse('password-change')))} queries a request",
        )
    ]
    for name, sql_page, call in subjects:
        next_params = params_cycle(s)

        def raw(sql_page: str = sql_page, next_params: Callable[[], dict[str, Any]] = next_params) -> None:
            page_sql(sql_page, next_params)

        base = measure(raw, n=ctx.repeat)
        stats = measure(call, n=ctx.repeat)
        n_queries = _queries(call)
        rows.append(
            compare(
                name,
                stats,
                baseline=f"raw SQL: {sql_page}",
                base=base,
                target=TARGET,
                p95_under_ms=100,
                max_ratio=3,
                note=f"{n_queries} queries a request"
                + (
                    f"; p95 {stats.p95_ms - floor.p95_ms:.1f} ms above the page floor "
                    f"({(stats.p95_ms - floor.p95_ms) / base.p95_ms:.1f}x raw SQL)"
                    if " page" in name
                    else ""
                ),
                extra={"queries": n_queries},
            )
        )
    return rows
