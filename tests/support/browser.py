"""Debian's chromium driven by Playwright, for the dashboard's browser tests (tests/browser)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[1] / "results" / "screenshots"
WAIT_MS = 60_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """The browser, or a failure that says how to install it (./scripts/test does): never a skip."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} is missing: run ./scripts/install-browser (./scripts/test does)")
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@contextmanager
def watched_page(browser: Browser, viewport: dict[str, int] = DESKTOP) -> Iterator[Page]:
    """A page in a fresh context (no cookies) that fails, on the way out, when the console reported a
    script or style the Content-Security-Policy blocked (an inline one slipped in)."""
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    opened = context.new_page()
    opened.set_default_timeout(WAIT_MS)
    problems: list[str] = []
    opened.on(
        "console",
        lambda message: problems.append(message.text) if "Content Security" in message.text else None,
    )
    try:
        yield opened
    finally:
        context.close()
    assert problems == []


def screenshot(page: Page, name: str) -> None:
    """Save the whole page under tests/results/screenshots (kept by CI as an artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
