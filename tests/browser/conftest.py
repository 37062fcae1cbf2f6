"""Browser fixtures: Debian's Chromium driven by Playwright (sync API), headless, against
pytest-django's ``live_server``.

- ``browser``: one Chromium for the whole session.
- ``page``: a fresh browser context and page per test, its base URL the live server.
- ``page_errors``: console errors, uncaught exceptions and Content-Security-Policy
  violations of that page, collected as they happen; assert it is empty.
- ``log_in(page, net_id)``: signs in through the site's login form.
- Every browser test starts with an empty cache: the live server caches per exam id (the
  answer rules, the paper's HTML), and the ids of a fresh test database repeat those of an
  earlier run whose entries may still be in Redis.

Tests that use them need ``transactional_db`` (the live server runs in another thread) and
the ``browser`` marker.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Chromium reports CSP violations on the console, but an event listener also catches the
# ones it reports only as events. Init scripts are injected by the browser, not the page, so
# the page's own policy does not apply to this one.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""


# Assertions wait for the page up to this long: generous for a loaded 2-core machine, and
# only ever reached when the page is wrong.
expect.set_options(timeout=10_000)


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    cache.clear()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    executable = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(executable, os.X_OK):
        pytest.fail(f"No Chromium at {executable}: run `make chromium`, or set CHROMIUM to its path.")
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as playwright:
        # While Playwright's sync API is started, its asyncio loop counts as running in this
        # thread, and Django's ORM refuses to run there unless told it is safe. It is safe:
        # that loop never runs Django code, and the tests' queries run between browser calls.
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, live_server: object) -> Iterator[Page]:
    context = browser.new_context(base_url=str(live_server))
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # The browser asks for /favicon.ico on its own; the site has none, and no page is at fault.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            errors.append(f"{message.text} ({message.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(f"Uncaught: {error}"))
    return errors


def log_in(page: Page, net_id: str, password: str = PASSWORD) -> None:
    """Sign in through the login form at /accounts/login/, and wait until it is done."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", net_id)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("form button[type=submit]")
    if "/accounts/login/" in page.url:
        raise AssertionError(f"Signing in as {net_id} failed: still on {page.url}")
