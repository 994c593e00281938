"""Project-wide fixtures: the loaded directory, staff of each role, API clients."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from django.contrib.auth.models import AbstractUser
from django.core.cache import cache
from rest_framework.test import APIClient

from centers.models import Center
from centers.services import directory_load, staff_create_or_update

PASSWORD = "correct-horse-battery-staple-42"


def _own_redis_db_per_xdist_worker() -> None:
    """Under pytest-xdist (make test runs `-n`), each worker process gets its own database (pytest-django adds
    the `_gwN` suffix) and here its own Redis database: one below TEST_REDIS_URL's per worker (gw0 keeps it),
    so one worker's flush or messages never reach another's Celery worker."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    if not worker.startswith("gw") or os.environ.get("_YEONGYE_REDIS_SPLIT") == url:
        return
    base, _, db = url.rpartition("/")
    own = f"{base}/{max(int(db or 0) - int(worker[2:] or 0), 0)}"
    os.environ["TEST_REDIS_URL"] = os.environ["_YEONGYE_REDIS_SPLIT"] = own


_own_redis_db_per_xdist_worker()


def on_sqlite_lane() -> bool:
    """DATABASE_URL=sqlite:///… (`make test-sqlite`): the run is the SQLite lane."""
    return os.environ.get("DATABASE_URL", "").startswith("sqlite:")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The SQLite lane runs only the tests marked `sqlite` (the code that branches on the database vendor, and
    the demo's own loop); every other test may rely on PostgreSQL and is left to the PostgreSQL run, which
    runs the marked ones too. Deselected, never skipped: a lane shows only what it ran."""
    if not on_sqlite_lane():
        return
    keep = [item for item in items if item.get_closest_marker("sqlite")]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if not item.get_closest_marker("sqlite")])
        items[:] = keep


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the default language (Korean): a request through LocaleMiddleware leaves its
    language active in the thread, and under pytest-xdist the next test on that process would inherit it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    # Throttle counters and lockouts live in the cache; one test's must not leak into the next.
    cache.clear()


@pytest.fixture
def directory(db: None) -> None:
    """The real directory of centers and desks, loaded from the project's data files."""
    directory_load()


@pytest.fixture
def make_staff(db: None) -> Callable[..., AbstractUser]:
    counter = iter(range(1, 10_000))

    def make(role: str = "counselor", center: str | Center | None = "EW-SEOUL-GWANAK", username: str | None = None):
        code = center.code if isinstance(center, Center) else center
        if role in ("ministry", "admin"):
            code = None
        name = username or f"{role}{next(counter)}"
        user, _ = staff_create_or_update(
            username=name,
            password=PASSWORD,
            role=role,
            center_code=code,
            email=f"{name}@example.kr",
            check_password_strength=False,
        )
        return user

    return make


@pytest.fixture
def counselor(directory: None, make_staff: Callable[..., AbstractUser]) -> AbstractUser:
    return make_staff("counselor", "EW-SEOUL-GWANAK", username="ew_counselor")


@pytest.fixture
def manager(directory: None, make_staff: Callable[..., AbstractUser]) -> AbstractUser:
    return make_staff("center_manager", "EW-SEOUL-GWANAK", username="ew_manager")


@pytest.fixture
def mf_counselor(directory: None, make_staff: Callable[..., AbstractUser]) -> AbstractUser:
    return make_staff("counselor", "MF-SEOUL-GWANAK", username="mf_counselor")


@pytest.fixture
def ministry_user(directory: None, make_staff: Callable[..., AbstractUser]) -> AbstractUser:
    return make_staff("ministry", None, username="ministry")


@pytest.fixture
def admin_user_staff(directory: None, make_staff: Callable[..., AbstractUser]) -> AbstractUser:
    return make_staff("admin", None, username="sysadmin")


@pytest.fixture
def api_for() -> Callable[[AbstractUser | None], APIClient]:
    def make(user: AbstractUser | None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user)
        return client

    return make


# --- Browser tests: Debian's Chromium driven by Playwright (its own browser download cannot work here).
CHROMIUM = "/usr/bin/chromium"


# Module scope, not session: Playwright's sync API keeps an asyncio loop running in the main thread while it
# is open, and Django code that calls async_to_sync (the health checks) refuses to run under it. Closing it
# after each browser module keeps the loop out of the tests that pytest-django runs after them.
@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (Korean locale, Seoul time) against the live test server."""
    context = browser.new_context(locale="ko-KR", timezone_id="Asia/Seoul", base_url=live_server.url)
    pg = context.new_page()
    pg.set_default_timeout(15_000)
    yield pg
    context.close()


@pytest.fixture
def login_page(page):
    """Log a user in through the real login form: `login_page(user)` returns the page."""

    def login(user: AbstractUser, password: str = PASSWORD):
        page.goto("/accounts/login/")
        page.fill("#id_username", user.get_username())
        page.fill("#id_password", password)
        page.click("button[type=submit].primary")
        page.wait_for_load_state("networkidle")
        return page

    return login
