"""An endpoint's page in a real browser (Debian's chromium driven by Playwright): a generation streamed
in the playground, the request chart and the list moving with traffic, a paused endpoint shown paused,
and the update form. One server (an embedding and a tiny causal LM endpoint) and one browser serve the
module; screenshots go to tests/results/screenshots/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright import sync_api as playwright

from tests.support.browser import screenshot, watched_page
from tests.support.dashboard import declared_endpoints
from tests.support.server import RunningServer, deploy_endpoint, start_server
from tests.support.text_models import build_tiny_causal_lm

WAIT_MS = 30_000
HOSTILE = "<img src=x id=injected>"
EMB, LLM = "search", "writer"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    env = declared_endpoints(tiny_model_dir, EMB)
    running = start_server(tmp_path_factory.mktemp("browser-endpoint-data"), env=env)
    try:
        model = build_tiny_causal_lm(tmp_path_factory.mktemp("browser-llm") / "gpt2")
        deploy_endpoint(running, LLM, model, "text-generation")
    except BaseException:
        running.stop()
        raise
    yield running
    running.stop()


@pytest.fixture
def page(browser: playwright.Browser, server: RunningServer) -> Iterator[playwright.Page]:
    """A signed-in page in a fresh context; fails when the Content-Security-Policy blocked anything."""
    with watched_page(browser) as opened:
        assert server.token is not None
        opened.goto(server.url + "/")
        opened.get_by_label("Token").fill(server.token)
        opened.get_by_label("Token").press("Enter")
        playwright.expect(opened.get_by_role("heading", name="Endpoints")).to_be_visible()
        yield opened


def test_a_generation_streams_into_the_playground_as_text(
    page: playwright.Page, server: RunningServer
) -> None:
    page.get_by_role("link", name=LLM).click()
    playwright.expect(page.locator("#live .state")).to_have_text("running")
    page.get_by_label("Prompt", exact=True).fill(HOSTILE)
    page.get_by_label("Max new tokens").first.fill("24")
    page.get_by_label("Include the prompt in the text").check()
    page.get_by_role("button", name="Generate").click()
    text = page.locator("#try-generate-text")
    playwright.expect(text).to_have_attribute("data-state", "done", timeout=WAIT_MS)
    assert text.inner_text().startswith(HOSTILE)  # the prompt arrived as text, then the tokens
    assert len(text.inner_text()) > len(HOSTILE)
    playwright.expect(page.locator("#injected")).to_have_count(0)
    playwright.expect(page.locator("#try-generate-result pre.snippet").first).to_contain_text(
        f"{server.url}/endpoints/{LLM}/generate"
    )
    page.get_by_label("Message").fill("hello there")
    page.get_by_role("button", name="Send").click()
    playwright.expect(page.locator("#try-chat-text")).to_have_attribute("data-state", "done", timeout=WAIT_MS)
    playwright.expect(page.locator("#try-chat-result summary", has_text="openai")).to_be_visible()
    screenshot(page, "endpoint-generate")


def _embed(server: RunningServer, times: int) -> None:
    for _ in range(times):
        reply = requests.post(
            f"{server.url}/endpoints/{EMB}/embed",
            json={"inputs": ["a cat", "a dog"]},
            headers=server.headers,
            timeout=30,
        )
        assert reply.status_code == 200


def test_the_request_chart_and_the_list_move_with_traffic(
    page: playwright.Page, server: RunningServer
) -> None:
    page.get_by_role("link", name=EMB).click()
    counted = page.locator("#minute-requests")
    before = int(counted.inner_text())
    _embed(server, 8)
    # The charts refresh by themselves, every 5 s.
    playwright.expect(counted).to_have_text(str(before + 8), timeout=WAIT_MS)
    time.sleep(10 - time.time() % 10 + 0.2)  # into the next 10-second bucket: the lines get a second point
    _embed(server, 8)
    playwright.expect(counted).to_have_text(str(before + 16), timeout=WAIT_MS)
    playwright.expect(page.locator('#charts polyline[data-line="requests"]')).to_have_count(1)
    playwright.expect(page.locator('#charts [data-dots="p50"] circle').first).to_be_visible()
    screenshot(page, "endpoint-charts")
    page.get_by_role("navigation").get_by_role("link", name="Endpoints").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=EMB))
    playwright.expect(row.locator(".rate")).not_to_have_text("0.00")
    playwright.expect(row).to_contain_text(re.compile(r"\d ms / \d"))


def test_a_paused_endpoint_shows_paused_and_the_update_form_keeps_its_values(
    page: playwright.Page, server: RunningServer
) -> None:
    page.goto(f"{server.url}/ui/endpoints/{EMB}")
    page.get_by_role("link", name="Update…").click()
    playwright.expect(page.get_by_label("Model repository")).not_to_have_value("")
    page.get_by_label("Scaling metric").select_option("pendingRequests")
    page.get_by_label("Threshold").fill("4")
    page.get_by_label("Scale to zero after (minutes idle)").fill("30")
    screenshot(page, "endpoint-update")
    page.get_by_role("button", name="Update endpoint").click()
    playwright.expect(page.get_by_role("heading", name=EMB)).to_be_visible()
    described = requests.get(
        f"{server.url}/v2/endpoint/local/{EMB}", headers=server.headers, timeout=30
    ).json()
    assert described["compute"]["scaling"]["measure"] == {"pendingRequests": 4.0}
    assert described["compute"]["scaling"]["scaleToZeroTimeout"] == 30
    requests.post(
        f"{server.url}/v2/endpoint/local/{LLM}/pause", headers=server.headers, timeout=30
    ).raise_for_status()
    page.goto(f"{server.url}/ui/endpoints/{LLM}")
    playwright.expect(page.locator("#live .state")).to_have_text("paused")
    page.get_by_role("navigation").get_by_role("link", name="Endpoints").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=LLM))
    playwright.expect(row).to_contain_text("paused")
