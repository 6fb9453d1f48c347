"""Browser fixtures: Debian's Chromium driven through Playwright's sync API.

One headless Chromium per test run; a fresh context (no cookies, no storage) and page per test.
``playwright install`` is never used: the browser is the system's /usr/bin/chromium, which CI
installs, so a missing binary is a failure, not a skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}

_HERE = Path(__file__).parent

# Words Chromium uses when it reports a Content-Security-Policy violation on the console.
CSP_MARKERS = ("Content Security Policy", "Content-Security-Policy", "Refused to")


# The test server (Werkzeug's, threaded) now and then leaves a static file it served to Chromium
# unclosed until the garbage collector finds it, in whichever test is running then (seen once, on
# the favicon). Only static files, only here: gunicorn closes what it serves.
_STATIC_FILE_LEFT_OPEN = (
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in\\W+<_io.FileIO name='[^']*/static/:pytest.PytestUnraisableExceptionWarning"
    ),
    pytest.mark.filterwarnings("ignore:unclosed file <_io.BufferedReader name='[^']*/static/:ResourceWarning"),
)


def pytest_collection_modifyitems(config, items):
    """Every test in this folder drives a browser, so every one carries the ``browser`` marker
    (and forgives the test server a static file left open)."""
    for item in items:
        if _HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            for mark in _STATIC_FILE_LEFT_OPEN:
                item.add_marker(mark)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium (apt-get install chromium). "
            "`playwright install` is not used.",
            pytrace=False,
        )
    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class ConsoleLog:
    """Console messages and uncaught page errors of every page in one browser context."""

    def __init__(self):
        self.messages: list[str] = []
        self.page_errors: list[str] = []

    def watch(self, page):
        page.on("console", lambda msg: self.messages.append(f"[{msg.type}] {msg.text}"))
        page.on("pageerror", lambda exc: self.page_errors.append(str(exc)))
        return page

    def csp_violations(self) -> list[str]:
        return [m for m in self.messages if any(marker in m for marker in CSP_MARKERS)]

    def assert_clean(self):
        """No Content-Security-Policy violation and no uncaught script error."""
        assert not self.csp_violations(), "CSP violations:\n" + "\n".join(self.csp_violations())
        assert not self.page_errors, "Uncaught page errors:\n" + "\n".join(self.page_errors)


@pytest.fixture
def console():
    return ConsoleLog()


@pytest.fixture
def new_page(browser, console):
    """Open a page in a brand-new context (its own cookie jar); all are closed after the test."""
    contexts = []

    def _new_page(viewport=DESKTOP, cookies=None):
        context = browser.new_context(viewport=viewport, locale="en-GB", timezone_id="Europe/London")
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        if cookies:
            context.add_cookies(cookies)
        contexts.append(context)
        return console.watch(context.new_page())

    yield _new_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    """A fresh context and page at a desktop size."""
    return new_page()
