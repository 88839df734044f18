"""A headless Chromium for the browser tests, driven by Playwright.

The browser is the system one (/usr/bin/chromium, Debian's `chromium` package); the tests
skip when it is missing. The site runs in pytest-django's live server in this process.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

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
# Long enough for a slow CI machine, short enough to fail a broken page quickly.
TIMEOUT_MS = 20_000


@pytest.fixture
def browser(live_server):
    """A fresh headless Chromium per test, for pages of the live server.

    Playwright's sync API keeps an event loop running in the main thread, so Django's
    async-safety check has to be lifted while the browser is open, for the test's own
    database queries; it is restored afterwards so the rest of the suite keeps the check.
    """
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}; install the Debian package `chromium`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="the `playwright` package is not installed")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        # Queries made while the browser was open use connections of their own; close
        # them here, or the test database cannot be dropped at the end of the run.
        connections.close_all()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser, live_server):
    """Open a page in a new browser context (its own cookies: one person each)."""
    contexts = []

    def open_page(*, locale: str = "en-US"):
        context = browser.new_context(base_url=live_server.url, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
