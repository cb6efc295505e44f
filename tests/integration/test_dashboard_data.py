"""The dashboard's index, inference and server pages over HTTP: what they show, that every user string
is escaped, CSRF on each change, the secret of an inference configuration never in a page, and that a
token sees through them only what the API lets it see."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.dashboard import admin_session, csrf_of, declared_endpoints, sign_in
from tests.support.fake_upstream import FakeUpstream, Reply, running_upstream
from tests.support.server import RunningServer, start_server

HOSTILE = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
SECRET = "hf_very-secret-key-0123456789"
DIMENSION = 32  # the tiny test model's


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    env = declared_endpoints(tiny_model_dir, "mine")
    running = start_server(tmp_path_factory.mktemp("ui-data-pages"), env=env)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(ui_server: RunningServer) -> requests.Session:
    return admin_session(ui_server.url, ui_server.token)


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    with running_upstream() as fake:
        fake.default = Reply(200, [[0.1, 0.2, 0.3, 0.4]])
        yield fake


def _api(server: RunningServer, method: str, path: str, body: object = None) -> requests.Response:
    return requests.request(method, server.url + path, json=body, headers=server.headers, timeout=60)


def _post_form(
    browser: requests.Session, base: str, page: str, action: str, /, **fields: str
) -> requests.Response:
    csrf = csrf_of(browser.get(base + page, timeout=60).text)
    return browser.post(base + action, data={"csrf": csrf, **fields}, timeout=60)


def _dense_index(server: RunningServer, name: str, records: int = 3) -> None:
    assert _api(server, "POST", "/indexes", {"name": name, "dimension": DIMENSION, "metric": "cosine"}).ok
    vectors = [
        {
            "id": f"rec-{n:03d}",
            "values": [float((n + k) % 7) + 0.5 for k in range(DIMENSION)],
            "metadata": {"genre": "drama" if n % 2 else "comedy", "note": HOSTILE},
        }
        for n in range(records)
    ]
    reply = _api(
        server, "POST", f"/indexes/{name}/vectors/upsert", {"vectors": vectors, "namespace": HOSTILE}
    )
    assert reply.ok, reply.text


def test_index_stats_report_records_and_disk_size_beside_pinecone_shapes(ui_server: RunningServer) -> None:
    _dense_index(ui_server, "stats-here", records=5)
    stats = _api(ui_server, "GET", "/api/indexes/stats-here").json()
    assert stats["records"] == 5
    assert stats["namespaces"] == {HOSTILE: 5}
    assert stats["diskBytes"] > 0
    listed = _api(ui_server, "GET", "/api/indexes").json()["items"]
    assert "stats-here" in [item["name"] for item in listed]
    pinecone = _api(ui_server, "GET", "/indexes/stats-here/describe_index_stats").json()
    assert "diskBytes" not in pinecone  # Pinecone's reply keeps Pinecone's shape
    assert _api(ui_server, "GET", "/api/indexes/no-such-index").status_code == 404


def test_the_index_list_and_page_escape_metadata_ids_and_namespaces(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    _dense_index(ui_server, "hostile-data")
    listing = admin.get(ui_server.url + "/ui/indexes", timeout=60)
    assert listing.status_code == 200
    assert re.search(r"hostile-data</a></th>\s*<td data-label=\"Dimension\">32</td>", listing.text)
    assert "Size on disk" in listing.text
    page = admin.get(ui_server.url + "/ui/indexes/hostile-data", params={"namespace": HOSTILE}, timeout=60)
    assert page.status_code == 200
    assert HOSTILE not in page.text
    assert ESCAPED in page.text  # the namespace, as text
    assert "rec-000" in page.text
    record = admin.get(
        ui_server.url + "/ui/indexes/hostile-data/record",
        params={"id": "rec-001", "namespace": HOSTILE},
        timeout=60,
    )
    assert record.status_code == 200
    assert HOSTILE not in record.text
    assert ESCAPED in record.text  # the metadata value
    assert "drama" in record.text
    assert (
        "[1.5000, 2.5000, 3.5000, 4.5000, 5.5000, 6.5000, 0.5000, 1.5000, …]" in record.text
    )  # the first values


def test_the_record_browser_pages_through_ids(ui_server: RunningServer, admin: requests.Session) -> None:
    _dense_index(ui_server, "many-records", records=25)
    first = admin.get(ui_server.url + "/ui/indexes/many-records", params={"namespace": HOSTILE}, timeout=60)
    assert "rec-019" in first.text
    assert "rec-020" not in first.text
    following = re.search(r'href="([^"]*page=[^"]*)"', first.text)
    assert following is not None
    second = admin.get(ui_server.url + following.group(1).replace("&amp;", "&"), timeout=60)
    assert "rec-020" in second.text
    assert "rec-024" in second.text
    assert "rec-019" not in second.text


def test_query_by_id_with_a_filter_and_by_text_through_an_endpoint(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    _dense_index(ui_server, "queried", records=6)
    page = f"/ui/indexes/queried?namespace={requests.utils.quote(HOSTILE)}"
    by_id = _post_form(
        admin,
        ui_server.url,
        page,
        "/ui/indexes/queried/query",
        namespace=HOSTILE,
        mode="id",
        id="rec-001",
        filter='{"genre": {"$eq": "drama"}}',
        top_k="10",
    )
    assert by_id.status_code == 200, by_id.text
    assert "3 matches" in by_id.text  # rec-001, rec-003, rec-005: the dramas
    assert "rec-000" not in by_id.text.split('id="results"')[1].split('id="records"')[0]
    by_text = _post_form(
        admin, ui_server.url, page, "/ui/indexes/queried/query",
        namespace=HOSTILE, mode="text", text="a drama", model="mine", filter="", top_k="2",
    )  # fmt: skip
    assert by_text.status_code == 200, by_text.text
    assert "2 matches" in by_text.text
    bad = _post_form(
        admin, ui_server.url, page, "/ui/indexes/queried/query",
        namespace=HOSTILE, mode="id", id="rec-001", filter='{"genre": ', top_k="5",
    )  # fmt: skip
    assert bad.status_code == 422
    assert "The filter is not valid JSON" in bad.text
    not_an_object = _post_form(
        admin, ui_server.url, page, "/ui/indexes/queried/query",
        namespace=HOSTILE, mode="id", id="rec-001", filter="[1]", top_k="5",
    )  # fmt: skip
    assert not_an_object.status_code == 422
    assert "must be a JSON object" in not_an_object.text


def test_create_an_integrated_index_and_search_its_text_with_a_filter(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    created = _post_form(
        admin, ui_server.url, "/ui/indexes/new", "/ui/indexes",
        name="notes", kind="integrated", metric="cosine", model="mine", field="body",
    )  # fmt: skip
    assert created.status_code == 200, created.text
    assert created.url.endswith("/ui/indexes/notes")
    assert "mine (text field <code>body</code>)" in created.text
    records = [
        {"_id": "a", "body": "the cat sat on the mat", "kind": "pet"},
        {"_id": "b", "body": "stock prices fell today", "kind": HOSTILE},
        {"_id": "c", "body": "dogs chase cats", "kind": "pet"},
    ]
    upserted = requests.post(
        ui_server.url + "/indexes/notes/records/namespaces/books/upsert",
        data="\n".join(json.dumps(record) for record in records),
        headers=ui_server.headers | {"Content-Type": "application/x-ndjson"},
        timeout=60,
    )
    assert upserted.status_code == 201, upserted.text
    found = _post_form(
        admin, ui_server.url, "/ui/indexes/notes?namespace=books", "/ui/indexes/notes/query",
        namespace="books", mode="text", text="cats", filter='{"kind": "pet"}', top_k="5",
    )  # fmt: skip
    assert found.status_code == 200, found.text
    results = found.text.split('id="results"')[1].split('id="records"')[0]
    assert "2 matches" in results
    assert ">a</a>" in results
    assert ">c</a>" in results
    assert ">b</a>" not in results


def test_creating_and_deleting_indexes_and_records_needs_the_csrf_token(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    forged = admin.post(
        ui_server.url + "/ui/indexes", data={"name": "forged", "kind": "dense", "dimension": "4"}, timeout=60
    )
    assert forged.status_code == 403
    assert _api(ui_server, "GET", "/indexes/forged").status_code == 404
    created = _post_form(
        admin,
        ui_server.url,
        "/ui/indexes/new",
        "/ui/indexes",
        name="short-lived",
        kind="dense",
        dimension="4",
    )
    assert created.status_code == 200
    assert _api(ui_server, "GET", "/indexes/short-lived").json()["dimension"] == 4
    vector = {"id": "x", "values": [1.0, 0.0, 0.0, 0.0]}
    assert _api(ui_server, "POST", "/indexes/short-lived/vectors/upsert", {"vectors": [vector]}).ok
    assert (
        admin.post(
            ui_server.url + "/ui/indexes/short-lived/record/delete", data={"id": "x"}, timeout=60
        ).status_code
        == 403
    )
    confirm = "/ui/indexes/short-lived/record/delete?id=x&namespace="
    deleted = _post_form(
        admin, ui_server.url, confirm, "/ui/indexes/short-lived/record/delete", id="x", namespace=""
    )
    assert deleted.status_code == 200
    fetched = _api(ui_server, "GET", "/indexes/short-lived/vectors/fetch?ids=x").json()
    assert fetched["vectors"] == {}
    assert (
        admin.post(ui_server.url + "/ui/indexes/short-lived/delete", data={}, timeout=60).status_code == 403
    )
    gone = _post_form(
        admin, ui_server.url, "/ui/indexes/short-lived/delete", "/ui/indexes/short-lived/delete"
    )
    assert gone.status_code == 200
    assert _api(ui_server, "GET", "/indexes/short-lived").status_code == 404
    refused = _post_form(
        admin, ui_server.url, "/ui/indexes/new", "/ui/indexes", name="Bad Name", dimension="4"
    )
    assert refused.status_code in (400, 422)
    assert 'class="error"' in refused.text


def test_an_inference_config_secret_never_reaches_a_page(
    ui_server: RunningServer, admin: requests.Session, upstream: FakeUpstream
) -> None:
    fields = {
        "inference_id": "remote-embedder",
        "task_type": "text_embedding",
        "service": "hugging_face",
        "url": upstream.url,
        "api_key": SECRET,
        "requests_per_minute": "120",
        "strategy": "word",
        "max_chunk_size": "10",
        "overlap": "5",
    }
    assert admin.post(ui_server.url + "/ui/inference", data=fields, timeout=60).status_code == 403
    assert _api(ui_server, "GET", "/_inference/remote-embedder").status_code == 404
    created = _post_form(admin, ui_server.url, "/ui/inference", "/ui/inference", **fields)
    assert created.status_code == 200, created.text
    assert "remote-embedder" in created.text
    assert "120/min" in created.text
    assert SECRET not in created.text
    assert upstream.received[-1].headers["authorization"] == f"Bearer {SECRET}"  # the probe used it
    refused = _post_form(admin, ui_server.url, "/ui/inference", "/ui/inference", **fields)  # it exists
    assert refused.status_code == 400
    assert "already exists" in refused.text
    assert SECRET not in refused.text  # the form comes back without the secret
    for page in ("/ui/inference", "/ui/indexes/new", "/ui/server"):
        assert SECRET not in admin.get(ui_server.url + page, timeout=60).text
    deleted = _post_form(
        admin, ui_server.url, "/ui/inference/remote-embedder/delete", "/ui/inference/remote-embedder/delete"
    )
    assert deleted.status_code == 200
    assert _api(ui_server, "GET", "/_inference/remote-embedder").status_code == 404


def test_the_chunk_preview_splits_as_the_settings_say(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    text = " ".join(f"w{n}" for n in range(25)) + " " + HOSTILE
    preview = _post_form(
        admin, ui_server.url, "/ui/inference", "/ui/inference/chunks",
        strategy="word", max_chunk_size="10", overlap="5", preview_text=text,
    )  # fmt: skip
    assert preview.status_code == 200
    assert "5 chunks" in preview.text
    assert ESCAPED in preview.text
    assert HOSTILE not in preview.text
    wrong = _post_form(
        admin, ui_server.url, "/ui/inference", "/ui/inference/chunks",
        strategy="word", max_chunk_size="10", overlap="9", preview_text=text,
    )  # fmt: skip
    assert 'role="alert"' in wrong.text
    assert "overlap" in wrong.text


def test_the_server_page_is_for_admins(ui_server: RunningServer, admin: requests.Session) -> None:
    page = admin.get(ui_server.url + "/ui/server", timeout=60)
    assert page.status_code == 200
    assert str(ui_server.data_dir) in page.text
    assert "Memory (RSS)" in page.text
    assert re.search(r'href="/ui/endpoints/mine">mine</a>', page.text)
    assert 'href="/metrics"' in page.text
    assert "<strong>torch: asked for</strong>" in page.text  # what the replica loaded, as the loader said
    details = _api(ui_server, "GET", "/api/server").json()
    assert (
        details["endpoints"][0] | {"loaded": "torch: asked for", "backendFrom": "server"}
        == details["endpoints"][0]
    )
    assert details["residentBytes"] > 10_000_000
    assert details["uptimeSeconds"] > 0
    user = _api(ui_server, "POST", "/api/tokens", {"name": "plain-user"}).json()["token"]
    assert (
        requests.get(
            ui_server.url + "/api/server", headers={"Authorization": f"Bearer {user}"}, timeout=60
        ).status_code
        == 403
    )
    browser, _ = sign_in(ui_server.url, user)
    refused = browser.get(ui_server.url + "/ui/server", timeout=60)
    assert "Only an admin token may read the server" in refused.text
    assert str(ui_server.data_dir) not in refused.text


def test_a_scoped_token_sees_no_indexes_nor_inference_configs(ui_server: RunningServer) -> None:
    _dense_index(ui_server, "secret-stuff")
    scoped = _api(ui_server, "POST", "/api/tokens", {"name": "scoped", "endpoints": ["mine"]}).json()["token"]
    browser, reply = sign_in(ui_server.url, scoped)
    assert reply.status_code == 200
    for page in ("/ui/indexes", "/ui/inference", "/ui/server"):
        shown = browser.get(ui_server.url + page, timeout=60)
        assert "scoped to the endpoint" in shown.text or "Only an admin" in shown.text, page
        assert "secret-stuff" not in shown.text
    direct = browser.get(ui_server.url + "/ui/indexes/secret-stuff", timeout=60)
    assert direct.status_code == 403
    assert "rec-000" not in direct.text


def test_a_hostile_index_name_is_refused_and_shown_as_text(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    refused = _post_form(
        admin, ui_server.url, "/ui/indexes/new", "/ui/indexes", name=HOSTILE, kind="dense", dimension="4"
    )
    assert refused.status_code == 400
    assert HOSTILE not in refused.text
    assert ESCAPED in refused.text  # in the message and back in the form's name field
    assert HOSTILE not in [index["name"] for index in _api(ui_server, "GET", "/indexes").json()["indexes"]]


def test_an_integrated_index_bound_to_an_inference_id(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    made = _post_form(
        admin, ui_server.url, "/ui/inference", "/ui/inference",
        inference_id="local-embedder", task_type="text_embedding", service="inferhouse", endpoint="mine",
        strategy="sentence", max_chunk_size="100", sentence_overlap="0",
    )  # fmt: skip
    assert made.status_code == 200, made.text
    assert "local-embedder" in admin.get(ui_server.url + "/ui/indexes/new", timeout=60).text  # offered
    created = _post_form(
        admin, ui_server.url, "/ui/indexes/new", "/ui/indexes",
        name="via-inference", kind="integrated", metric="cosine", model="local-embedder", field="text",
    )  # fmt: skip
    assert created.status_code == 200, created.text
    assert _api(ui_server, "GET", "/indexes/via-inference").json()["embed"]["model"] == "local-embedder"
    listing = admin.get(ui_server.url + "/ui/indexes", timeout=60).text
    assert re.search(r'via-inference</a></th>.*?<td data-label="Model">local-embedder</td>', listing, re.S)
    in_use = _post_form(
        admin, ui_server.url, "/ui/inference/local-embedder/delete", "/ui/inference/local-embedder/delete"
    )
    assert in_use.status_code >= 400  # an index embeds with it
    assert 'role="alert"' in in_use.text
    assert _api(ui_server, "GET", "/_inference/local-embedder").status_code == 200


def test_deleting_a_namespace_asks_first_and_keeps_the_others(
    ui_server: RunningServer, admin: requests.Session
) -> None:
    _dense_index(ui_server, "two-spaces")  # three records in the namespace named HOSTILE
    vector = {"id": "kept", "values": [0.5] * DIMENSION}
    assert _api(
        ui_server, "POST", "/indexes/two-spaces/vectors/upsert", {"vectors": [vector], "namespace": "keep"}
    ).ok
    page = admin.get(f"{ui_server.url}/ui/indexes/two-spaces", params={"namespace": HOSTILE}, timeout=60)
    assert "Delete namespace " + ESCAPED in page.text
    confirm = admin.get(
        f"{ui_server.url}/ui/indexes/two-spaces/namespace/delete", params={"namespace": HOSTILE}, timeout=60
    )
    assert "Delete every record of namespace " + ESCAPED in confirm.text
    forged = admin.post(
        f"{ui_server.url}/ui/indexes/two-spaces/namespace/delete", data={"namespace": HOSTILE}, timeout=60
    )
    assert forged.status_code == 403
    namespaces = _api(ui_server, "GET", "/api/indexes/two-spaces").json()["namespaces"]
    assert namespaces == {HOSTILE: 3, "keep": 1}  # a refused form changed nothing
    done = admin.post(
        f"{ui_server.url}/ui/indexes/two-spaces/namespace/delete",
        data={"csrf": csrf_of(confirm.text), "namespace": HOSTILE},
        timeout=60,
    )
    assert done.status_code == 200
    assert _api(ui_server, "GET", "/api/indexes/two-spaces").json()["namespaces"] == {"keep": 1}
