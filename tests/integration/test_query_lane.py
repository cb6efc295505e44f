"""The Pinecone query lane answers exactly as the query route does.

Each request is sent twice to the same app: once as it comes (the lane answers) and once with the lane's
path pattern switched off, so FastAPI routes it to ``/indexes/{index_name}/query``; the replies are
compared byte for byte, answers and refusals alike.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from inferhouse.api.pinecone import query_lane
from tests.support.inprocess import InProcessServer

INDEX = "lane-twins"
DIMENSION = 4
NEVER = re.compile(r"(?!)")


@pytest.fixture(scope="module")
def server(app_server: InProcessServer) -> Iterator[InProcessServer]:
    spec = {"name": INDEX, "dimension": DIMENSION, "metric": "cosine", "spec": {"serverless": {}}}
    created = app_server.http.post("/indexes", json=spec, headers=app_server.headers)
    assert created.status_code == 201, created.text
    vectors = [
        {"id": f"v{i}", "values": [1.0, i / 10, -i / 20, 0.5], "metadata": {"group": i % 3, "tag": f"t{i}"}}
        for i in range(30)
    ]
    upserted = app_server.http.post(
        f"/indexes/{INDEX}/vectors/upsert", json={"vectors": vectors}, headers=app_server.headers
    )
    assert upserted.status_code == 200, upserted.text
    yield app_server
    app_server.http.delete(f"/indexes/{INDEX}", headers=app_server.headers)


def _both_ways(
    server: InProcessServer,
    monkeypatch: pytest.MonkeyPatch,
    index: str,
    content: bytes,
    headers: dict[str, str],
) -> tuple[httpx.Response, httpx.Response]:
    url = f"/indexes/{index}/query"
    lane = server.http.post(url, content=content, headers=headers)
    with monkeypatch.context() as patched:
        patched.setattr(query_lane.QueryFastLane, "route", NEVER)
        route = server.http.post(url, content=content, headers=headers)
    return lane, route


def _json(body: Any) -> bytes:
    return httpx.Request("POST", "http://x", json=body).read()


ANSWERED = {
    "vector": {"vector": [1.0, 0.2, -0.1, 0.5], "topK": 5},
    "vector, values and metadata": {
        "vector": [0.3, 0.2, 0.1, 0.0],
        "topK": 3,
        "includeValues": True,
        "includeMetadata": True,
    },
    "filter": {
        "vector": [1, 0, 0, 0],
        "top_k": 4,
        "filter": {"group": {"$in": [0, 2]}},
        "includeMetadata": True,
    },
    "by id": {"id": "v7", "topK": 2},
    "unknown id": {"id": "nope", "topK": 2},
    "another namespace": {"vector": [1, 0, 0, 0], "topK": 2, "namespace": "empty"},
}
REFUSED = {
    "no topK": {"vector": [1, 0, 0, 0]},
    "topK 0": {"vector": [1, 0, 0, 0], "topK": 0},
    "wrong dimension": {"vector": [1, 0, 0], "topK": 1},
    "a string value": {"vector": [1, "0", 0, 0], "topK": 1},
    "a boolean value": {"vector": [1, True, 0, 0], "topK": 1},
    "vector and id": {"vector": [1, 0, 0, 0], "id": "v1", "topK": 1},
    "neither": {"topK": 1},
    "bad filter": {"vector": [1, 0, 0, 0], "topK": 1, "filter": {"group": {"$near": 1}}},
    "bad flag": {"vector": [1, 0, 0, 0], "topK": 1, "includeValues": "yes"},
}


@pytest.mark.parametrize("case", list(ANSWERED))
def test_answers_match_the_route(server: InProcessServer, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    lane, route = _both_ways(server, monkeypatch, INDEX, _json(ANSWERED[case]), server.headers)
    assert lane.status_code == route.status_code == 200, lane.text
    assert lane.headers["content-type"] == route.headers["content-type"]
    assert lane.content == route.content
    if case == "filter":
        assert [m["metadata"]["group"] for m in lane.json()["matches"]] != []
        assert all(m["metadata"]["group"] in (0, 2) for m in lane.json()["matches"])


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals_match_the_route(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    lane, route = _both_ways(server, monkeypatch, INDEX, _json(REFUSED[case]), server.headers)
    assert lane.status_code == route.status_code == 400, lane.text
    assert lane.content == route.content
    assert set(lane.json()) == {"code", "message", "details"}


@pytest.mark.parametrize(
    "case", ["unknown index", "malformed JSON", "a list", "empty", "missing token", "bad token", "too large"]
)
def test_request_refusals_match_the_route(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    headers = {**server.headers, "content-type": "application/json"}
    index, content = INDEX, _json({"vector": [1, 0, 0, 0], "topK": 1})
    if case == "unknown index":
        index = "no-such-index"
    elif case == "malformed JSON":
        content = b'{"vector": [1, 0'
    elif case == "a list":
        content = b"[1, 0, 0, 0]"
    elif case == "empty":
        content = b""
    elif case == "missing token":
        headers.pop("Authorization")
    elif case == "bad token":
        headers["Authorization"] = "Bearer not-a-token"
    else:
        content = b'{"vector": [' + b"0.125, " * 1_000_000 + b"0]}"  # over the 2 MiB body limit
    lane, route = _both_ways(server, monkeypatch, index, content, headers)
    expected = {"unknown index": 404, "missing token": 401, "bad token": 401, "too large": 413}.get(case, 400)
    assert lane.status_code == route.status_code == expected, lane.text
    assert lane.headers["content-type"] == route.headers["content-type"]
    assert lane.headers.get("www-authenticate") == route.headers.get("www-authenticate")
    assert lane.content == route.content


def test_the_lane_answers_queries_and_counts_them_under_the_route(
    server: InProcessServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    answered: list[str] = []
    answer = query_lane.answer_query

    async def counted(*args: Any) -> Any:
        answered.append("lane")
        return await answer(*args)

    monkeypatch.setattr(query_lane, "answer_query", counted)
    reply = server.http.post(f"/indexes/{INDEX}/query", json=ANSWERED["vector"], headers=server.headers)
    assert reply.status_code == 200
    assert answered == ["lane"]
    # Other methods and paths are FastAPI's as before.
    assert server.http.get(f"/indexes/{INDEX}/query", headers=server.headers).status_code == 405
    assert answered == ["lane"]
    metrics = server.http.get("/metrics", headers=server.headers).text
    assert 'route="/indexes/{index_name}/query"' in metrics
    assert f"/indexes/{INDEX}/query" not in metrics
