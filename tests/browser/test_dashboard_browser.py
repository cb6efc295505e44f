"""The dashboard in a real browser: Debian's chromium driven by Playwright, against a real server.

One server and one browser serve the whole module. Screenshots of the main pages are saved under
tests/results/screenshots/ (the docs show some of them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright import sync_api as playwright

from tests.support.browser import PHONE, WAIT_MS, screenshot
from tests.support.server import RunningServer, start_server


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    endpoints = [
        {"name": name, "model": str(tiny_model_dir), "task": "sentence-embeddings"}
        for name in ("docs-search", "other-team")
    ]
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ENDPOINTS": json.dumps(endpoints)}
    running = start_server(tmp_path_factory.mktemp("browser-data"), env=env)
    yield running
    running.stop()


def _sign_in(page: playwright.Page, server: RunningServer, token: str) -> None:
    page.goto(server.url + "/")
    page.get_by_label("Token").fill(token)
    page.get_by_label("Token").press("Enter")


def _admin(page: playwright.Page, server: RunningServer) -> None:
    assert server.token is not None
    _sign_in(page, server, server.token)
    playwright.expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()


def test_sign_in_with_a_bad_then_a_good_token(page: playwright.Page, ui_server: RunningServer) -> None:
    page.goto(ui_server.url + "/")
    playwright.expect(page.get_by_label("Token")).to_be_focused()  # type the token, press Enter
    page.keyboard.type("ih_wrong")
    page.keyboard.press("Enter")
    playwright.expect(page.get_by_role("alert")).to_contain_text("not valid")
    screenshot(page, "signin")
    _admin(page, ui_server)
    playwright.expect(page.get_by_role("link", name="docs-search")).to_be_visible()
    screenshot(page, "endpoints")
    page.get_by_role("button", name="Sign out").click()
    playwright.expect(page.get_by_label("Token")).to_be_visible()
    page.goto(ui_server.url + "/ui/endpoints")
    playwright.expect(page).to_have_url(re.compile(r"/ui/signin$"))


def test_create_an_endpoint_watch_it_run_embed_and_pause(
    page: playwright.Page, ui_server: RunningServer, tiny_model_dir: Path
) -> None:
    _admin(page, ui_server)
    page.get_by_role("link", name="New endpoint").click()
    page.get_by_label("Name").fill("from-the-form")
    page.get_by_label("Model repository").fill(str(tiny_model_dir))
    page.get_by_label("Task").select_option("sentence-embeddings")
    screenshot(page, "endpoint-new")
    page.get_by_role("button", name="Create endpoint").click()
    playwright.expect(page.get_by_role("heading", name="from-the-form")).to_be_visible()
    state = page.locator("#live .state")
    playwright.expect(state).to_have_text("running", timeout=WAIT_MS)  # polled by htmx
    playwright.expect(page.locator("#logs")).not_to_have_text("Loading…")

    page.get_by_label("Texts to embed, one per line").fill("a cat sits\na dog runs")
    page.get_by_role("button", name="Embed").click()
    playwright.expect(page.locator("#dimensions")).to_have_text(re.compile(r"^\d+$"))
    playwright.expect(page.locator("#similarity")).to_contain_text("1.000")
    playwright.expect(page.locator("pre.snippet").first).to_contain_text(
        f"{ui_server.url}/endpoints/from-the-form"
    )
    screenshot(page, "endpoint-playground")

    page.get_by_role("button", name="Pause").click()
    playwright.expect(page.locator("#live .state")).to_have_text("paused")
    page.get_by_role("navigation").get_by_role("link", name="Endpoints").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="from-the-form"))
    playwright.expect(row).to_contain_text("paused")


def test_create_and_revoke_a_token(page: playwright.Page, ui_server: RunningServer) -> None:
    _admin(page, ui_server)
    page.get_by_role("navigation").get_by_role("link", name="Tokens").click()
    page.get_by_label("Name").fill("<b>ci-bot</b>")
    page.get_by_role("button", name="Create token").click()
    token = page.locator("#new-token").inner_text()
    assert token.startswith("ih_")
    assert requests.get(
        ui_server.url + "/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ).ok
    row = page.get_by_role("row").filter(has_text="<b>ci-bot</b>")  # the name as text, not markup
    playwright.expect(row).to_be_visible()
    screenshot(page, "tokens")
    page.reload()
    playwright.expect(page.locator("#new-token")).to_have_count(0)
    # Used once above (written off that request's path, long done by now): no longer "never".
    playwright.expect(row.locator('td[data-label="Last used"]')).to_contain_text("UTC")
    row.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke token").click()
    playwright.expect(page.get_by_role("row").filter(has_text="<b>ci-bot</b>")).to_have_count(0)
    revoked = requests.get(
        ui_server.url + "/api/whoami-v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    assert revoked.status_code == 401


def test_a_scoped_token_sees_only_its_endpoint(
    browser: playwright.Browser, page: playwright.Page, ui_server: RunningServer
) -> None:
    created = requests.post(
        ui_server.url + "/api/tokens",
        json={"name": "search-team", "manages": ["docs-search"]},
        headers=ui_server.headers,
        timeout=30,
    ).json()
    requests.post(
        ui_server.url + "/indexes",
        json={"name": "notes", "dimension": 8, "metric": "cosine"},
        headers=ui_server.headers,
        timeout=30,
    ).raise_for_status()
    _admin(page, ui_server)
    playwright.expect(page.get_by_role("link", name="other-team")).to_be_visible()
    page.get_by_role("link", name="Indexes").click()
    playwright.expect(page.get_by_role("row").filter(has_text="notes")).to_contain_text("cosine")
    screenshot(page, "indexes")

    scoped = browser.new_context(viewport=PHONE)
    phone = scoped.new_page()
    _sign_in(phone, ui_server, created["token"])
    playwright.expect(phone.get_by_role("link", name="docs-search")).to_be_visible()
    playwright.expect(phone.get_by_role("link", name="other-team")).to_have_count(0)
    screenshot(phone, "endpoints-phone")
    phone.get_by_role("link", name="Indexes").click()
    playwright.expect(phone.get_by_role("alert")).to_contain_text("may only call those")
    scoped.close()


def test_the_keyboard_reaches_every_page_and_action(page: playwright.Page, ui_server: RunningServer) -> None:
    _admin(page, ui_server)
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement ? document.activeElement.textContent.trim() : ''")
        reached.append(focused)
    for name in (
        "Endpoints",
        "Indexes",
        "Inference",
        "Tokens",
        "Server",
        "New endpoint",
        "docs-search",
        "Sign out",
    ):
        assert name in reached, reached
    # Enter on a focused link follows it, as a click would.
    page.get_by_role("link", name="docs-search").focus()
    page.keyboard.press("Enter")
    playwright.expect(page.get_by_role("heading", name="docs-search")).to_be_visible()
