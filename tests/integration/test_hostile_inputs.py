"""Inputs built to hurt (deep filters, names with a newline, forged tokens, misplaced sparse values) are
refused with a 400 in the API's own shape, change nothing, and leave no traceback in the server log."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from inferhouse.settings import DEFAULT_ENDPOINT_NAME
from inferhouse.vectors.filters import MAX_FILTER_DEPTH
from tests.support.inprocess import InProcessServer
from tests.support.server import index_name_for


@pytest.fixture(scope="module")
def server(app_server: InProcessServer) -> InProcessServer:
    """Nothing here needs a socket: the app runs in this process."""
    return app_server


class Logged:
    """What the server logs from now on."""

    def __init__(self, server: InProcessServer) -> None:
        self.server = server
        self.start = len(server.log())

    def since(self) -> str:
        return self.server.log()[self.start :]


def _nested_filter(levels: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"genre": {"$eq": "drama"}}
    for _ in range(levels):
        spec = {"$and": [spec]}
    return spec


def _post(server: InProcessServer, path: str, body: object) -> httpx.Response:
    headers = {"Api-Key": server.token or ""}
    return server.http.post(server.url + path, json=body, headers=headers, timeout=60)


@pytest.fixture
def index(server: InProcessServer, request: pytest.FixtureRequest) -> Iterator[str]:
    name = index_name_for(request.node.name, "h")
    body = {"name": name, "dimension": 4, "metric": "cosine"}
    assert _post(server, "/indexes", body).status_code == 201
    vectors = [{"id": f"v{i}", "values": [1, i, 0, 0], "metadata": {"genre": "drama"}} for i in range(5)]
    assert _post(server, f"/indexes/{name}/vectors/upsert", {"vectors": vectors}).status_code == 200
    yield name
    server.http.delete(f"{server.url}/indexes/{name}", headers=server.headers, timeout=30)


@pytest.fixture(scope="module")
def records_index(server: InProcessServer) -> Iterator[str]:
    name = "hostile-records"
    body = {"name": name, "embed": {"model": DEFAULT_ENDPOINT_NAME, "field_map": {"text": "body"}}}
    assert _post(server, "/indexes/create-for-model", body).status_code == 201
    yield name
    server.http.delete(f"{server.url}/indexes/{name}", headers=server.headers, timeout=30)


def _filtered_requests(index: str, records: str, spec: object) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"/indexes/{index}/query", {"vector": [1, 0, 0, 0], "topK": 3, "filter": spec}),
        (f"/indexes/{index}/describe_index_stats", {"filter": spec}),
        (f"/indexes/{index}/vectors/delete", {"filter": spec}),
        (
            f"/indexes/{records}/records/namespaces/docs/search",
            {"query": {"inputs": {"text": "rain"}, "top_k": 3, "filter": spec}},
        ),
    ]


@pytest.mark.parametrize(
    ("levels", "fragment"), [(238, "levels deep"), (MAX_FILTER_DEPTH + 1, "levels deep")]
)
def test_deep_filters_are_a_400_without_a_traceback(
    server: InProcessServer, index: str, records_index: str, levels: int, fragment: str
) -> None:
    logged = Logged(server)
    for path, body in _filtered_requests(index, records_index, _nested_filter(levels)):
        reply = _post(server, path, body)
        assert reply.status_code == 400, (path, reply.text)
        assert reply.json()["code"] == 3
        assert fragment in reply.json()["message"]
    stats = _post(server, f"/indexes/{index}/describe_index_stats", {}).json()
    assert stats["totalVectorCount"] == 5  # the refused delete deleted nothing
    assert "Traceback" not in logged.since()
    assert "unhandled error" not in logged.since()


def test_filters_up_to_the_limit_work(server: InProcessServer, index: str, records_index: str) -> None:
    spec = _nested_filter(MAX_FILTER_DEPTH)
    query, stats = _filtered_requests(index, records_index, spec)[:2]
    assert len(_post(server, *query).json()["matches"]) == 3
    assert _post(server, *stats).json()["totalVectorCount"] == 5


def test_deeply_nested_values_are_refused_where_they_would_be_stored(
    server: InProcessServer, index: str, records_index: str
) -> None:
    nested: Any = "leaf"
    for _ in range(25):  # 50 levels, within the body's nesting limit, so the value itself is judged
        nested = {"k": [nested]}
    logged = Logged(server)
    upsert = _post(
        server,
        f"/indexes/{index}/vectors/upsert",
        {"vectors": [{"id": "deep", "values": [1, 0, 0, 0], "metadata": {"tree": nested}}]},
    )
    assert upsert.status_code == 400
    assert "must be a string, number, boolean or list of strings" in upsert.json()["message"]
    update = _post(server, f"/indexes/{index}/vectors/update", {"id": "v1", "setMetadata": {"tree": nested}})
    assert update.status_code == 400
    line = json.dumps({"_id": "r1", "body": "rain falls", "tree": nested}).encode()
    records = server.http.post(
        f"{server.url}/indexes/{records_index}/records/namespaces/docs/upsert",
        content=line,
        headers={**server.headers, "content-type": "application/x-ndjson"},
        timeout=60,
    )
    assert records.status_code == 400, records.text
    assert "must be a string, number, boolean or list of strings" in records.json()["message"]
    es = server.http.put(
        f"{server.url}/_inference/text_embedding/deep-settings",
        json={"service": "hugging_face", "service_settings": {"url": nested, "api_key": nested}},
        headers=server.headers,
        timeout=60,
    )
    assert es.status_code == 400, es.text
    assert es.json()["error"]["type"] == "validation_exception"
    assert "Traceback" not in logged.since()


@pytest.mark.parametrize("name", ["zzevil\n", "zzevil\n\n", "\nzzevil", "zz evil", "zzevil\r"])
def test_names_match_whole(server: InProcessServer, name: str) -> None:
    index = _post(server, "/indexes", {"name": name, "dimension": 4, "metric": "cosine"})
    assert index.status_code == 400, index.text
    assert "Name must consist of lower case alphanumeric" in index.json()["error"]["message"]
    for_model = _post(
        server,
        "/indexes/create-for-model",
        {"name": name, "embed": {"model": DEFAULT_ENDPOINT_NAME, "field_map": {"text": "body"}}},
    )
    assert for_model.status_code == 400, for_model.text
    inference = server.http.put(
        f"{server.url}/_inference/text_embedding/{quote(name)}",
        json={"service": "inferhouse", "service_settings": {"endpoint": DEFAULT_ENDPOINT_NAME}},
        headers=server.headers,
        timeout=60,
    )
    assert inference.status_code == 400, inference.text
    assert "Invalid inference_id" in inference.json()["error"]["reason"]
    endpoint = server.http.post(
        f"{server.url}/v2/endpoint/local",
        json={"name": name, "model": {"repository": "sentence-transformers/all-MiniLM-L6-v2"}},
        headers=server.headers,
        timeout=60,
    )
    assert endpoint.status_code == 422, endpoint.text
    files = [path.name for path in (server.data_dir / "indexes").iterdir()]
    assert not [file for file in files if "zzevil" in file or "\n" in file]
    assert name not in server.http.get(f"{server.url}/_inference/_all", headers=server.headers).text


def test_pagination_tokens_are_checked(server: InProcessServer, index: str) -> None:
    url = f"{server.url}/indexes/{index}/vectors/list"
    headers = {"Api-Key": server.token or ""}
    first = server.http.get(url, params={"limit": 2}, headers=headers).json()
    token = first["pagination"]["next"]
    second = server.http.get(url, params={"limit": 2, "paginationToken": token}, headers=headers).json()
    assert [v["id"] for v in first["vectors"] + second["vectors"]] == ["v0", "v1", "v2", "v3"]
    # base64 of an id, as tokens used to be, a truncated token, non-base64, an empty decode
    for junk in ["junk", "!!!!", "dGVzdA==", token[:-2], token + "A", "YWZ0ZXI6", "ñ"]:
        reply = server.http.get(url, params={"limit": 2, "paginationToken": junk}, headers=headers)
        assert reply.status_code == 400, (junk, reply.text)
        assert reply.json()["code"] == 3
        assert "Invalid pagination token" in reply.json()["message"]
    empty = server.http.get(url, params={"limit": 2, "paginationToken": ""}, headers=headers).json()
    assert empty["vectors"] == first["vectors"]  # an empty token is no token


def test_sparse_values_only_on_dotproduct(server: InProcessServer, index: str) -> None:
    sparse = {"indices": [1, 7], "values": [0.5, 1.5]}
    upsert = _post(
        server,
        f"/indexes/{index}/vectors/upsert",
        {"vectors": [{"id": "s", "values": [0, 0, 1, 0], "sparseValues": sparse}]},
    )
    assert upsert.status_code == 400, upsert.text
    assert upsert.json()["message"].startswith("Index configuration does not support sparse values")
    update = _post(server, f"/indexes/{index}/vectors/update", {"id": "v1", "sparseValues": sparse})
    assert update.status_code == 400, update.text
    fetched = server.http.get(
        f"{server.url}/indexes/{index}/vectors/fetch", params={"ids": ["s", "v1"]}, headers=server.headers
    ).json()["vectors"]
    assert list(fetched) == ["v1"]
    assert "sparseValues" not in fetched["v1"]
    dot = index + "-dot"
    assert _post(server, "/indexes", {"name": dot, "dimension": 4, "metric": "dotproduct"}).status_code == 201
    try:
        ok = {"vectors": [{"id": "s", "values": [0, 0, 1, 0], "sparseValues": sparse}]}
        assert _post(server, f"/indexes/{dot}/vectors/upsert", ok).status_code == 200
    finally:
        server.http.delete(f"{server.url}/indexes/{dot}", headers=server.headers, timeout=30)
