"""The dashboard's index, inference and server pages in a real browser (Debian's chromium through
Playwright): create an index, upsert through the API, browse and query it by text with a filter; create
and delete an inference configuration whose secret never reaches the page. One server and one browser
serve the module; screenshots go to tests/results/screenshots/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright import sync_api as playwright

from tests.support.browser import PHONE, screenshot
from tests.support.dashboard import declared_endpoints
from tests.support.fake_upstream import FakeUpstream, Reply, running_upstream
from tests.support.server import RunningServer, start_server

SECRET = "hf_browser-secret-9876543210"


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    env = declared_endpoints(tiny_model_dir, "docs-search")
    running = start_server(tmp_path_factory.mktemp("browser-data-pages"), env=env)
    yield running
    running.stop()


def _admin(page: playwright.Page, server: RunningServer) -> None:
    assert server.token is not None
    page.goto(server.url + "/")
    page.get_by_label("Token").fill(server.token)
    page.get_by_label("Token").press("Enter")
    playwright.expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()


def test_create_an_index_upsert_browse_and_query_it_by_text_with_a_filter(
    page: playwright.Page, ui_server: RunningServer
) -> None:
    _admin(page, ui_server)
    page.get_by_role("link", name="Indexes", exact=True).click()
    page.get_by_role("link", name="New index").click()
    page.get_by_label("Name").fill("articles")
    page.get_by_label("Integrated: you upsert text records").check()
    page.get_by_label("Embedding model (integrated)").fill("docs-search")
    page.get_by_label("Text field of the records").fill("body")
    page.get_by_role("button", name="Create index").click()
    playwright.expect(page.get_by_role("heading", name="articles")).to_be_visible()
    records = [
        {"_id": "cats", "body": "cats sleep all day", "topic": "pets", "year": 2024},
        {"_id": "dogs", "body": "dogs love long walks", "topic": "pets", "year": 2021},
        {"_id": "rates", "body": "the bank raised interest rates", "topic": "money", "year": 2024},
    ]
    upserted = requests.post(
        ui_server.url + "/indexes/articles/records/namespaces/news/upsert",
        data="\n".join(json.dumps(record) for record in records),
        headers=ui_server.headers | {"Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert upserted.status_code == 201, upserted.text
    page.reload()
    page.get_by_role("link", name="news").click()
    playwright.expect(page.get_by_role("link", name="rates#0", exact=True)).to_be_visible()
    page.get_by_role("link", name="cats#0", exact=True).click()
    playwright.expect(page.get_by_role("heading", name="Record cats#0")).to_be_visible()
    playwright.expect(page.get_by_role("cell", name="pets")).to_be_visible()
    page.go_back()
    page.get_by_label("Query text").fill("animals")
    page.get_by_label("Metadata filter (JSON)").fill('{"topic": {"$eq": "pets"}, "year": {"$gte": 2022}}')
    page.get_by_label("top_k").fill("5")
    page.get_by_role("button", name="Run query").click()
    results = page.get_by_role("region", name="Results")
    playwright.expect(results.get_by_role("heading", name="1 match", exact=True)).to_be_visible()
    playwright.expect(results.get_by_role("link", name="cats")).to_be_visible()
    screenshot(page, "index")
    page.get_by_label("Metadata filter (JSON)").fill('{"topic": ')
    page.get_by_role("button", name="Run query").click()
    playwright.expect(page.get_by_role("alert")).to_contain_text("not valid JSON")
    page.goto(ui_server.url + "/ui/indexes")
    playwright.expect(page.get_by_role("cell", name="docs-search")).to_be_visible()
    screenshot(page, "indexes")
    page.set_viewport_size(PHONE)
    screenshot(page, "indexes-phone")


def test_create_and_delete_an_inference_config_without_its_secret_in_the_page(
    page: playwright.Page, ui_server: RunningServer
) -> None:
    upstream: FakeUpstream
    with running_upstream() as upstream:
        upstream.default = Reply(200, [[0.5, 0.25, 0.125]])
        _admin(page, ui_server)
        page.get_by_role("link", name="Inference", exact=True).click()
        page.get_by_label("Inference id").fill("remote-embedder")
        page.get_by_label("URL (hugging_face)").fill(upstream.url)
        page.get_by_label("API key").fill(SECRET)
        page.get_by_label("Rate limit, requests per minute").fill("90")
        page.get_by_label("Strategy").select_option("word")
        page.get_by_label("Max chunk size (words)").fill("10")
        page.get_by_label("Overlap (word: words repeated)").fill("5")
        page.get_by_label("Text to preview the chunks of").fill(" ".join(f"word{n}" for n in range(25)))
        page.get_by_role("button", name="Preview chunks").click()  # htmx: only the preview changes
        playwright.expect(page.get_by_role("heading", name="4 chunks")).to_be_visible()
        playwright.expect(page.get_by_label("API key")).to_have_value(SECRET)  # the form kept its fields
        screenshot(page, "inference-new")
        page.get_by_role("button", name="Create configuration").click()
        playwright.expect(page.get_by_role("rowheader", name="remote-embedder")).to_be_visible()
        playwright.expect(page.get_by_role("cell", name="90/min")).to_be_visible()
        assert SECRET not in page.content()
        assert upstream.received[-1].headers["authorization"] == f"Bearer {SECRET}"
        screenshot(page, "inference")
        page.get_by_role("link", name="Delete…").click()
        assert SECRET not in page.content()
        page.get_by_role("button", name="Delete configuration").click()
        playwright.expect(page.get_by_text("No inference configurations yet.")).to_be_visible()
        assert SECRET not in page.content()


def test_the_server_page(page: playwright.Page, ui_server: RunningServer) -> None:
    _admin(page, ui_server)
    page.get_by_role("link", name="Server", exact=True).click()
    playwright.expect(page.get_by_role("heading", name="Server")).to_be_visible()
    playwright.expect(page.get_by_text(str(ui_server.data_dir))).to_be_visible()
    playwright.expect(page.get_by_role("link", name="docs-search")).to_be_visible()
    playwright.expect(page.get_by_role("link", name="Prometheus metrics (/metrics)")).to_be_visible()
    screenshot(page, "server")
