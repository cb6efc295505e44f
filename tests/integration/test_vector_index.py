"""The vector index over HTTP: error shapes, all-or-nothing writes, restarts and crashes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.server import RunningServer, index_name_for, start_server

QUIET = {"INFERHOUSE_DEFAULT_ENDPOINT": "false"}


class Api:
    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.headers = {"Api-Key": server.token or ""}

    def create(self, name: str, dimension: int = 4, **extra: object) -> requests.Response:
        body = {"name": name, "dimension": dimension, "metric": "cosine", **extra}
        return requests.post(self.server.url + "/indexes", json=body, headers=self.headers, timeout=30)

    def post(self, index: str, route: str, body: object) -> requests.Response:
        return requests.post(
            f"{self.server.url}/indexes/{index}{route}", json=body, headers=self.headers, timeout=30
        )

    def count(self, index: str) -> int:
        stats = self.post(index, "/describe_index_stats", {}).json()
        return int(stats["totalVectorCount"])


@pytest.fixture
def api(server: RunningServer) -> Api:
    return Api(server)


@pytest.fixture
def index(api: Api, request: pytest.FixtureRequest) -> Iterator[str]:
    name = index_name_for(request.node.name, "v")
    assert api.create(name).status_code == 201
    yield name
    requests.delete(f"{api.server.url}/indexes/{name}", headers=api.headers, timeout=30)


def test_api_key_and_bearer_both_authenticate(api: Api, index: str) -> None:
    url = f"{api.server.url}/indexes/{index}"
    assert requests.get(url, headers={"Api-Key": api.server.token or ""}).status_code == 200
    assert requests.get(url, headers=api.server.headers).status_code == 200
    refused = requests.get(url, headers={"Api-Key": "wrong"})
    assert refused.status_code == 401
    assert refused.json() == {
        "error": {"code": "UNAUTHENTICATED", "message": "Invalid API key"},
        "status": 401,
    }


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"name": "Bad_Name", "dimension": 4}, "lower case alphanumeric"),
        ({"name": "ok-name", "dimension": 0}, "between 1 and 20000"),
        ({"name": "ok-name", "dimension": 20001}, "between 1 and 20000"),
        ({"name": "ok-name", "dimension": 4, "metric": "manhattan"}, "Metric must be one of"),
        ({"name": "x" * 46, "dimension": 4}, "1 to 45 characters"),
    ],
)
def test_create_validation(api: Api, body: dict[str, object], fragment: str) -> None:
    res = requests.post(api.server.url + "/indexes", json=body, headers=api.headers)
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "INVALID_ARGUMENT"
    assert fragment in res.json()["error"]["message"]


def test_existing_and_missing_names(api: Api, index: str) -> None:
    again = api.create(index)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ALREADY_EXISTS"
    missing = requests.get(api.server.url + "/indexes/nope", headers=api.headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    data = api.post("nope", "/query", {"vector": [1, 0, 0, 0], "topK": 1})
    assert data.status_code == 404
    assert data.json() == {"code": 5, "message": "Resource nope not found", "details": []}


GOOD = {"id": "good", "values": [1, 0, 0, 0]}


@pytest.mark.parametrize(
    ("vectors", "fragment"),
    [
        (
            [GOOD, {"id": "bad", "values": [1, 0, 0]}],
            "Vector dimension 3 does not match the dimension of the index 4",
        ),
        ([GOOD, {"id": "nan", "values": [1, 0, 0, float("nan")]}], "not valid JSON"),  # NaN is not JSON
        ([GOOD, {"id": "big", "values": [1, 0, 0, 1e39]}], "finite 32-bit floats"),
        ([GOOD, {"id": "", "values": [1, 0, 0, 0]}], "Vector id must be a string of 1 to 512"),
        ([GOOD, {"id": "x" * 513, "values": [1, 0, 0, 0]}], "Vector id must be a string of 1 to 512"),
        ([GOOD, {"id": 7, "values": [1, 0, 0, 0]}], "Vector id must be a string"),
        ([GOOD, {"id": "m", "values": [1, 0, 0, 0], "metadata": {"k": None}}], "cannot be null"),
        (
            [GOOD, {"id": "m", "values": [1, 0, 0, 0], "metadata": {"k": {"nested": 1}}}],
            "must be a string, number",
        ),
        ([GOOD, {"id": "m", "values": [1, 0, 0, 0], "metadata": {"k": "x" * 41_000}}], "exceeds the limit"),
        ([{"id": str(i), "values": [1, 0, 0, 0]} for i in range(1001)], "at most 1000 vectors"),
        (
            [
                GOOD,
                {"id": "s", "values": [1, 0, 0, 0], "sparseValues": {"indices": [1, 1], "values": [1, 2]}},
            ],
            "unique",
        ),
    ],
)
def test_rejected_upserts_write_nothing(api: Api, index: str, vectors: list[object], fragment: str) -> None:
    body = json.dumps({"vectors": vectors})  # allows NaN, which a strict JSON parser refuses
    res = requests.post(
        f"{api.server.url}/indexes/{index}/vectors/upsert",
        data=body,
        headers={**api.headers, "content-type": "application/json"},
    )
    assert res.status_code == 400, res.text
    assert res.json()["code"] == 3
    assert fragment in res.json()["message"]
    assert api.count(index) == 0


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"vector": [1, 0, 0, 0], "topK": 0}, "topK must be an integer from 1 to 10000"),
        ({"vector": [1, 0, 0, 0], "topK": 10001}, "topK must be an integer from 1 to 10000"),
        ({"topK": 3}, "Exactly one of vector or id"),
        ({"vector": [1, 0], "topK": 3}, "Query vector dimension 2 does not match"),
        ({"vector": [1, 0, 0, 0], "topK": 3, "filter": {"a": {"$near": 1}}}, "unknown operator $near"),
        ({"vector": [1, 0, 0, 0], "topK": 3, "sparseVector": {"indices": [1], "values": [1]}}, "dotproduct"),
    ],
)
def test_bad_queries(api: Api, index: str, body: dict[str, object], fragment: str) -> None:
    res = api.post(index, "/query", body)
    assert res.status_code == 400
    assert fragment in res.json()["message"]


def test_bad_json_and_oversize_bodies(api: Api, index: str) -> None:
    url = f"{api.server.url}/indexes/{index}/vectors/upsert"
    bad = requests.post(url, data=b"{", headers={**api.headers, "content-type": "application/json"})
    assert bad.status_code == 400
    assert bad.json()["code"] == 3
    huge = requests.post(url, data=b" " * (3 * 1024 * 1024), headers=api.headers)
    assert huge.status_code == 413


def test_read_your_writes(api: Api, index: str) -> None:
    for i in range(20):
        api.post(index, "/vectors/upsert", {"vectors": [{"id": f"v{i}", "values": [1, i, 0, 0]}]})
        hit = api.post(index, "/query", {"vector": [1, i, 0, 0], "topK": 1}).json()["matches"][0]
        assert hit["id"] == f"v{i}"


def test_default_namespace_alias(api: Api, index: str) -> None:
    api.post(index, "/vectors/upsert", {"vectors": [GOOD], "namespace": "__default__"})
    fetched = requests.get(
        f"{api.server.url}/indexes/{index}/vectors/fetch", params={"ids": "good"}, headers=api.headers
    ).json()
    assert list(fetched["vectors"]) == ["good"]


def test_indexes_survive_a_restart(tmp_path: Path) -> None:
    first = start_server(tmp_path, env=QUIET)
    api = Api(first)
    assert api.create("keep", dimension=4, tags={"team": "x"}).status_code == 201
    api.post(
        "keep",
        "/vectors/upsert",
        {"vectors": [{"id": "a", "values": [1, 2, 3, 4], "metadata": {"t": "x"}}], "namespace": "n"},
    )
    first.stop()
    second = start_server(tmp_path, env=QUIET)
    try:
        api = Api(second)
        described = requests.get(second.url + "/indexes/keep", headers=api.headers).json()
        assert described["tags"] == {"team": "x"}
        assert described["host"] == f"{second.url}/indexes/keep"
        fetched = requests.get(
            f"{second.url}/indexes/keep/vectors/fetch",
            params={"ids": "a", "namespace": "n"},
            headers=api.headers,
        ).json()
        assert fetched["vectors"]["a"]["metadata"] == {"t": "x"}
        assert fetched["vectors"]["a"]["values"] == [1, 2, 3, 4]
    finally:
        second.stop()


def test_acknowledged_upserts_survive_sigkill(tmp_path: Path) -> None:
    server = start_server(tmp_path, env=QUIET)
    api = Api(server)
    assert api.create("crash", dimension=4).status_code == 201
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        session = requests.Session()
        for batch in range(10_000):
            if stop.is_set():
                return
            ids = [f"b{batch}-{i}" for i in range(20)]
            body = {"vectors": [{"id": vid, "values": [batch, i, 1, 1]} for i, vid in enumerate(ids)]}
            try:
                res = session.post(
                    f"{server.url}/indexes/crash/vectors/upsert", json=body, headers=api.headers, timeout=10
                )
            except requests.RequestException:
                return
            if res.status_code == 200:
                acknowledged.extend(ids)

    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 20
    while len(acknowledged) < 400 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    stop.set()
    thread.join(timeout=30)
    assert len(acknowledged) >= 400

    revived = start_server(tmp_path, env=QUIET)
    try:
        api = Api(revived)
        assert api.count("crash") >= len(acknowledged)
        for start in range(0, len(acknowledged), 500):
            chunk = acknowledged[start : start + 500]
            found = requests.get(
                f"{revived.url}/indexes/crash/vectors/fetch",
                params={"ids": chunk},
                headers=api.headers,
                timeout=30,
            ).json()["vectors"]
            assert set(found) == set(chunk)
    finally:
        revived.stop()
