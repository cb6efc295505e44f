"""A newcomer's first minutes, as one run in the browser: start the server with nothing set, open the
dashboard URL it prints, sign in with the admin token it prints, then (reading no docs) deploy a second
endpoint, query an index by text, and watch the endpoint's request chart move."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright import sync_api as playwright

from tests.support.browser import WAIT_MS, screenshot
from tests.support.server import RunningServer, admin_headers, start_server

DEFAULT_ENDPOINT = "all-minilm-l6-v2"


@pytest.fixture(scope="module")
def first_start(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """The server as a newcomer starts it: the bundled default endpoint, no token given."""
    running = start_server(tmp_path_factory.mktemp("newcomer"), token=None)
    yield running
    running.stop()


def test_a_newcomer_deploys_an_endpoint_queries_an_index_and_sees_the_chart_move(
    page: playwright.Page, first_start: RunningServer, tiny_model_dir: Path
) -> None:
    printed = first_start.log()
    dashboard = re.search(r"open the dashboard at (http://\S+/ui)", printed)
    token = re.search(r"generated an admin token \(shown once\): (\S+)", printed)
    assert dashboard is not None, printed
    assert token is not None, printed

    page.goto(dashboard.group(1))
    page.keyboard.type(token.group(1))  # the token field has the focus
    page.keyboard.press("Enter")
    playwright.expect(page.get_by_role("link", name=DEFAULT_ENDPOINT)).to_be_visible()

    # A second endpoint, from the form, running.
    page.get_by_role("link", name="New endpoint").click()
    page.get_by_label("Name").fill("my-second")
    page.get_by_label("Model repository").fill(str(tiny_model_dir))
    page.get_by_label("Task").select_option("sentence-embeddings")
    page.get_by_role("button", name="Create endpoint").click()
    playwright.expect(page.locator("#live .state")).to_have_text("running", timeout=WAIT_MS)

    # An index that embeds with the default endpoint; a few records go in through the Pinecone route.
    page.get_by_role("link", name="Indexes", exact=True).click()
    page.get_by_role("link", name="New index").click()
    page.get_by_label("Name").fill("notes")
    page.get_by_label("Integrated: you upsert text records").check()
    page.get_by_label("Embedding model (integrated)").fill(DEFAULT_ENDPOINT)
    page.get_by_label("Text field of the records").fill("text")
    page.get_by_role("button", name="Create index").click()
    playwright.expect(page.get_by_role("heading", name="notes")).to_be_visible()
    records = [
        {"_id": "kitten", "text": "a kitten naps in the sun"},
        {"_id": "stocks", "text": "stock prices fell sharply today"},
    ]
    upserted = requests.post(
        first_start.url + "/indexes/notes/records/namespaces/__default__/upsert",
        data="\n".join(json.dumps(record) for record in records),
        headers=admin_headers(first_start) | {"Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert upserted.status_code == 201, upserted.text
    page.reload()
    page.get_by_label("Query text").fill("a sleepy cat")
    page.get_by_role("button", name="Run query").click()
    results = page.get_by_role("region", name="Results")
    playwright.expect(results.get_by_role("link").first).to_have_text(re.compile(r"^kitten"))
    screenshot(page, "newcomer-query")

    # The default endpoint served those embeddings: its page counts them, and the chart draws them.
    page.get_by_role("navigation").get_by_role("link", name="Endpoints").click()
    page.get_by_role("link", name=DEFAULT_ENDPOINT).click()
    playwright.expect(page.locator("#minute-requests")).not_to_have_text("0", timeout=WAIT_MS)
    playwright.expect(page.locator('#charts polyline[data-line="requests"]')).to_have_count(1)
    screenshot(page, "newcomer-chart")
