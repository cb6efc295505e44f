"""One chromium per browser test module, and a fresh CSP-watched page per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from tests.support.browser import launched_chromium, watched_page


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module-wide, not session-wide: Playwright's sync API keeps an event loop running in this thread
    # while it is open, which the other tests' asyncio.run would then refuse.
    with launched_chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as opened:
        yield opened
