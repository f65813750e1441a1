"""Session fixture for a headless Chromium driven by Playwright.

Fixtures:
    browser -> playwright.sync_api.Browser (session): Debian's /usr/bin/chromium, headless
    page    -> playwright.sync_api.Page (function): in a fresh context, closed after the test

Uses the system Chromium from ``scripts/ensure-test-deps``; never ``playwright install`` (it
downloads its own browser). A missing Chromium fails the test with that hint, it does not skip.

Playwright's sync API marks its event loop as the thread's running loop from start to stop, so
while a session-wide Playwright is alive ``asyncio.run()`` fails in every later test ("cannot be
called from a running event loop"). ``_playwright_loop_guard`` below therefore parks that mark
outside tests that use the browser. Inside such a test, run asyncio code in a thread.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path(os.environ.get("TRYGTHJEM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    # No calls home from the browser: tests must not reach the internet.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class _PlaywrightLoop:
    """The event loop of the session's Playwright, and whether it is marked running."""

    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def park(cls) -> None:
        # Nothing runs on Playwright's loop between sync calls (its dispatcher greenlet is
        # suspended), so clearing the thread's running-loop mark is safe until the next call.
        if cls.loop is not None and asyncio._get_running_loop() is cls.loop:
            asyncio._set_running_loop(None)

    @classmethod
    def unpark(cls) -> None:
        if cls.loop is not None and asyncio._get_running_loop() is None:
            asyncio._set_running_loop(cls.loop)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session (starting it costs ~0.5-1 s)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found: run scripts/ensure-test-deps")
    with sync_playwright() as playwright:
        _PlaywrightLoop.loop = asyncio._get_running_loop()
        try:
            chromium = playwright.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            try:
                yield chromium
            finally:
                _PlaywrightLoop.unpark()
                chromium.close()
        finally:
            _PlaywrightLoop.unpark()
            _PlaywrightLoop.loop = None


@pytest.fixture(autouse=True)
def _playwright_loop_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Mark Playwright's loop running only during tests that use the browser (see above)."""
    uses_browser = "browser" in request.fixturenames
    if uses_browser:
        _PlaywrightLoop.unpark()
    else:
        _PlaywrightLoop.park()
    try:
        yield
    finally:
        _PlaywrightLoop.park()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in its own context (cookies, storage), so tests cannot see each other's login."""
    # Defaults (en-US, UTC); a test that needs nb-NO makes its own browser.new_context(...).
    context = browser.new_context()
    context.set_default_timeout(10_000)  # fail in seconds, not after Playwright's 30 s
    try:
        yield context.new_page()
    finally:
        context.close()
