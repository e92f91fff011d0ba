"""Fixtures of the browser tests: one real server for the session, Debian's Chromium, a fresh page per test.

Every test here is marked `browser` and skips with the reason when Chromium or Playwright is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.server import CHROMIUM, LAUNCH_ARGS, LiveServer, browser_missing, running_server

PANEL_VIEWPORT = {"width": 380, "height": 900}
DESK_VIEWPORT = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Where the browser is missing, skip (with the reason) every test that drives it."""
    reason = browser_missing()
    for item in items:
        if "tests/browser/" not in str(item.fspath).replace("\\", "/"):
            continue
        if not {"page", "browser"} & set(getattr(item, "fixturenames", ())):
            continue  # route tests of this folder need no browser
        item.add_marker(pytest.mark.browser)
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app under uvicorn, kb_docs ingested with the hash embedder, a key per role."""
    with running_server(tmp_path_factory.mktemp("browser") / "data") as server:
        yield server


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright's sync API.

    Per module, not per session: while Playwright's sync API is open, an event loop runs in the main thread,
    and every later test that calls asyncio.run (the LangChain async suites, the guard's async streams)
    failed with "cannot be called from a running event loop" when the whole suite ran in one session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A page in a fresh context (its own sessionStorage), desk-sized; JS errors and anything the
    Content-Security-Policy refused (an inline style or script, a foreign host) fail the test."""
    context = browser.new_context(viewport=DESK_VIEWPORT, locale="en-US")
    context.set_default_timeout(15_000)
    pg = context.new_page()
    errors: list[str] = []
    refused: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on("console", lambda msg: refused.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
    assert not refused, f"the Content-Security-Policy refused: {refused}"


def enter_key(page: Any, key: str) -> None:
    """Type the API key into the page's key dialog."""
    page.locator("#key-input").fill(key)
    page.locator("#key-input").press("Enter")
    page.locator("#role-badge").wait_for(state="visible")
