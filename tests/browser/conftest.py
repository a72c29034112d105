"""Browser fixtures: the real web app served on 127.0.0.1 (a fresh SQLite file, the company's
processes deployed, staff accounts, a simulated clock) and staff signed in through the real
sign-in page, each in a Chromium profile of their own (own cookies).

Only Debian's Chromium (/usr/bin/chromium) is used; no browser is ever downloaded. Without it
the browser tests are skipped on a developer's machine, and fail in CI."""

from __future__ import annotations

import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gridflow import catalog, users
from gridflow.clock import SimulatedClock
from gridflow.database import Database
from gridflow.roles import RoleBook
from gridflow.runtime import Runtime
from gridflow.working_time import WorkingCalendar

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Monday 2 March 2026, 09:00 in Beijing: the start of a working day.
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PASSWORD = "correct-horse-9"
BROWSER_STAFF = {
    "desk1": ["service_desk"],
    "manager1": ["account_manager"],
    "planner1": ["planning_design"],
    "planner2": ["planning_design"],
    "meter1": ["metering"],
}
# Auto-waiting locators and assertions give up after this long (Playwright's default is 30 s;
# the server is on this machine and answers in milliseconds); page loads get longer.
TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 15_000


@dataclass
class LiveServer:
    url: str
    rt: Runtime
    clock: SimulatedClock


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[object]:
    """Playwright's driver, once per test session; Debian's Chromium must be there."""
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, roles: RoleBook, calendar: WorkingCalendar
) -> Iterator[LiveServer]:
    """The web app on a free port of 127.0.0.1, on a fresh migrated SQLite file."""
    from werkzeug.serving import make_server

    from gridflow.app import create_app

    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'gridflow.db'}"
    Database(url).migrate()
    clock = SimulatedClock(START)
    rt = Runtime.create(url, clock=clock, calendar=calendar, roles=roles)
    catalog.deploy_paths(rt, [PROCESSES], "test")
    for username, role_ids in BROWSER_STAFF.items():
        users.create_user(rt, username, PASSWORD, role_ids)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test"}, runtime=rt)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", rt, clock)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        rt.db.dispose()


@pytest.fixture
def browser_session(
    playwright_driver: object, live_server: LiveServer
) -> Iterator[Callable[..., object]]:
    """A factory: browser_session("planner1") is a Page signed in as planner1 through the real
    sign-in form, in a fresh Chromium profile (own cookies), with English pages (en-US) unless
    another `locale` is asked for (browser_session("manager1", locale="zh-CN"))."""
    from playwright.sync_api import BrowserContext, Page, expect

    contexts: list[BrowserContext] = []
    profiles: list[tempfile.TemporaryDirectory[str]] = []

    def open_session(username: str, password: str = PASSWORD, locale: str = "en-US") -> Page:
        profile = tempfile.TemporaryDirectory(prefix="gridflow-chromium-")
        profiles.append(profile)
        context = playwright_driver.chromium.launch_persistent_context(  # type: ignore[attr-defined]
            user_data_dir=profile.name,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            base_url=live_server.url,
            locale=locale,
            timezone_id="Asia/Shanghai",
        )
        contexts.append(context)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/login")
        page.locator("#username").fill(username)
        page.locator("#password").fill(password)
        page.locator("form:has(#password) button[type=submit]").click()
        expect(page.locator("#whoami")).to_have_text(username)
        # English pages, or Chinese ones for a Chinese browser
        expect(page.locator("html")).to_have_attribute(
            "lang", "zh-CN" if locale.startswith("zh") else "en"
        )
        expect(page).not_to_have_url(re.compile(r"/login"))
        return page

    yield open_session
    for context in contexts:
        context.close()
    for profile in profiles:
        profile.cleanup()
