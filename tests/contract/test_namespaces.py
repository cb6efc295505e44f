"""The namespaces API and the reads and writes by filter, through the real ``pinecone`` client, on every
vector backend: ``create/list/describe/delete_namespace``, ``fetch_by_metadata``, ``update`` by filter
(with its dry run) and ``query_namespaces``, with the bad inputs each refuses in Pinecone's error shape
and without changing anything."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
import requests
from pinecone import Index, Pinecone
from pinecone.errors import ApiError, ConflictError, NotFoundError

from tests.support.server import RunningServer, index_name_for

GENRES = ("drama", "comedy", "noir")


@pytest.fixture
def pc(vector_server: RunningServer) -> Iterator[Pinecone]:
    with Pinecone(api_key=vector_server.token, host=vector_server.url) as client:
        yield client


@pytest.fixture
def index(pc: Pinecone, request: pytest.FixtureRequest) -> Iterator[Index]:
    """A new 4-dimension cosine index for this test, deleted afterwards."""
    name = index_name_for(request.node.name, "ns")
    pc.create_index(name, dimension=4, metric="cosine")
    opened = pc.Index(name)
    yield opened
    opened.close()
    pc.delete_index(name)


@pytest.fixture
def raw(vector_server: RunningServer, index: Index) -> Callable[..., requests.Response]:
    """``raw(method, route, json=...)`` on the index's host, for what the client refuses to send."""

    def call(method: str, route: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method, index.host + route, headers={"Api-Key": vector_server.token or ""}, timeout=30, **kwargs
        )

    return call


def _records(count: int, seed: int = 0) -> list[dict[str, Any]]:
    vectors = np.random.default_rng(seed).normal(size=(count, 4)).astype(np.float32)
    return [
        {"id": f"r{i:03d}", "values": vectors[i].tolist(), "metadata": {"genre": GENRES[i % 3], "n": i}}
        for i in range(count)
    ]


def _refused(reply: requests.Response, status: int, code: int) -> None:
    """A refusal in the data plane's shape: ``{"code", "message", "details"}`` with gRPC's code."""
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert (body["code"], body["details"]) == (code, [])
    assert body["message"]


def test_created_namespaces_exist_while_empty_until_deleted(index: Index) -> None:
    described = index.create_namespace(name="empty-a", schema={"fields": {"genre": {"filterable": True}}})
    assert (described.name, described.record_count) == ("empty-a", 0)
    assert described.schema.fields["genre"].filterable is True
    assert described.indexed_fields.fields == ["genre"]
    index.create_namespace(name="empty-b")
    index.upsert(vectors=_records(5), namespace="films")
    index.upsert(vectors=_records(2), namespace="")

    names = [ns.name for page in index.list_namespaces() for ns in page.namespaces]
    assert names == ["__default__", "empty-a", "empty-b", "films"]
    first = index.list_namespaces_paginated(limit=2, prefix="e")
    assert ([ns.name for ns in first.namespaces], first.total_count) == (["empty-a", "empty-b"], 2)
    assert first.pagination is None
    first = index.list_namespaces_paginated(limit=3)
    rest = index.list_namespaces_paginated(limit=3, pagination_token=first.pagination.next)
    assert [ns.name for ns in rest.namespaces] == ["films"]
    assert rest.pagination is None
    assert {ns.name: ns.record_count for ns in first.namespaces} == {
        "__default__": 2,
        "empty-a": 0,
        "empty-b": 0,
    }
    assert index.describe_namespace(name="films").record_count == 5
    assert index.describe_namespace(name="__default__").record_count == 2
    plain = index.describe_namespace(name="empty-b")
    assert (plain.record_count, plain.schema, plain.indexed_fields) == (0, None, None)
    stats = index.describe_index_stats()
    assert {name: ns.vector_count for name, ns in stats.namespaces.items()} == {
        "": 2,
        "empty-a": 0,
        "empty-b": 0,
        "films": 5,
    }

    # Emptying keeps a created namespace; deleting removes it and its records.
    index.upsert(vectors=_records(3), namespace="empty-b")
    index.delete(delete_all=True, namespace="empty-b")
    assert index.describe_namespace(name="empty-b").record_count == 0
    index.delete_namespace(name="empty-b")
    index.delete_namespace(name="films")
    with pytest.raises(NotFoundError):
        index.describe_namespace(name="empty-b")
    assert index.fetch(ids=["r000"], namespace="films").vectors == {}
    assert sorted(index.describe_index_stats().namespaces) == ["", "empty-a"]
    index.create_namespace(name="films")  # a deleted name can be created again
    assert index.describe_namespace(name="films").record_count == 0


def test_namespace_refusals_change_nothing(index: Index, raw: Callable[..., requests.Response]) -> None:
    index.create_namespace(name="made")
    index.upsert(vectors=_records(3), namespace="written")
    for taken in ("made", "written"):
        with pytest.raises(ConflictError) as exists:
            index.create_namespace(name=taken)
        assert exists.value.status_code == 409
        _refused(raw("POST", "/namespaces", json={"name": taken}), 409, 6)
    assert index.describe_namespace(name="written").record_count == 3
    for missing in ("nowhere", "made-not"):
        with pytest.raises(NotFoundError):
            index.describe_namespace(name=missing)
        with pytest.raises(NotFoundError):
            index.delete_namespace(name=missing)
        _refused(raw("GET", f"/namespaces/{missing}"), 404, 5)
        _refused(raw("DELETE", f"/namespaces/{missing}"), 404, 5)
    for body in (
        {},
        {"name": ""},
        {"name": "__default__"},
        {"name": 7},
        {"name": "x" * 513},
        {"name": "bad-schema", "schema": {"fields": {"genre": {"filterable": False}}}},
        {"name": "bad-schema", "schema": {"fields": {"genre": {}}}},
        {"name": "bad-schema", "schema": {"fields": ["genre"]}},
        {"name": "bad-schema", "schema": {"indexed": {"genre": {"filterable": True}}}},
    ):
        _refused(raw("POST", "/namespaces", json=body), 400, 3)
    for query in ({"paginationToken": "not-a-token"}, {"limit": 0}, {"limit": 101}):
        _refused(raw("GET", "/namespaces", params=query), 400, 3)
    listed = [ns.name for page in index.list_namespaces() for ns in page.namespaces]
    assert listed == ["made", "written"]


def test_fetch_by_metadata_pages_through_the_matches(
    index: Index, raw: Callable[..., requests.Response]
) -> None:
    records = _records(60)
    index.upsert(vectors=records, namespace="films")
    spec = {"$or": [{"genre": "drama"}, {"n": {"$gte": 50}}]}
    expected = [r["id"] for r in records if r["metadata"]["genre"] == "drama" or r["metadata"]["n"] >= 50]
    seen: list[str] = []
    token = None
    while True:
        page = index.fetch_by_metadata(filter=spec, namespace="films", limit=7, pagination_token=token)
        assert len(page.vectors) <= 7
        assert page.namespace == "films"
        seen.extend(page.vectors)
        for vector_id, vector in page.vectors.items():
            original = next(r for r in records if r["id"] == vector_id)
            assert vector.metadata == original["metadata"]
            assert vector.values == pytest.approx(original["values"], rel=1e-6)
        token = page.pagination.next if page.pagination else None
        if token is None:
            break
    assert seen == sorted(expected)  # each once, in id order
    whole = index.fetch_by_metadata(filter={"genre": "noir"}, namespace="films")
    assert sorted(whole.vectors) == [r["id"] for r in records if r["metadata"]["genre"] == "noir"]
    assert whole.pagination is None
    assert index.fetch_by_metadata(filter={"genre": "noir"}, namespace="nowhere").vectors == {}

    route = "/vectors/fetch_by_metadata"
    for body in (
        {"namespace": "films"},
        {"filter": {}, "namespace": "films"},
        {"filter": {"genre": {"$regex": "d.*"}}, "namespace": "films"},
        {"filter": {"genre": "noir"}, "paginationToken": "bm90LWEtdG9rZW4="},
        {"filter": {"genre": "noir"}, "limit": 0},
        {"filter": {"genre": "noir"}, "limit": 10_001},
    ):
        _refused(raw("POST", route, json=body), 400, 3)


def test_update_by_filter_sets_metadata_on_every_match(
    index: Index, raw: Callable[..., requests.Response]
) -> None:
    records = _records(30)
    index.upsert(vectors=records, namespace="films")
    spec = {"genre": "comedy", "n": {"$lt": 20}}
    matching = sorted(
        r["id"] for r in records if r["metadata"]["genre"] == "comedy" and r["metadata"]["n"] < 20
    )

    preview = index.update(filter=spec, set_metadata={"seen": True}, namespace="films", dry_run=True)
    assert preview.matched_records == len(matching)
    assert index.fetch_by_metadata(filter={"seen": True}, namespace="films").vectors == {}

    done = index.update(filter=spec, set_metadata={"seen": True, "genre": "satire"}, namespace="films")
    assert done.matched_records == len(matching)
    fetched = index.fetch(ids=[r["id"] for r in records], namespace="films").vectors
    for record in records:
        expected = dict(record["metadata"])
        if record["id"] in matching:
            expected.update(seen=True, genre="satire")
        assert fetched[record["id"]].metadata == expected
    found = index.query(vector=[1.0, 0, 0, 0], top_k=100, namespace="films", filter={"genre": "satire"})
    assert sorted(match.id for match in found.matches) == matching
    assert (
        index.update(filter={"genre": "opera"}, set_metadata={"x": 1}, namespace="films").matched_records == 0
    )

    before = index.fetch(ids=[r["id"] for r in records], namespace="films").vectors
    for body in (
        {"namespace": "films", "setMetadata": {"x": 1}},
        {"id": "r000", "filter": {"genre": "noir"}, "setMetadata": {"x": 1}, "namespace": "films"},
        {"filter": {"genre": "noir"}, "values": [1, 2, 3, 4], "namespace": "films"},
        {
            "filter": {"genre": "noir"},
            "sparseValues": {"indices": [1], "values": [1.0]},
            "namespace": "films",
        },
        {"filter": {}, "setMetadata": {"x": 1}, "namespace": "films"},
        {"filter": {"genre": {"$regex": "n"}}, "setMetadata": {"x": 1}, "namespace": "films"},
        {"filter": {"genre": "noir"}, "setMetadata": {"x": None}, "namespace": "films"},
        {"filter": {"genre": "noir"}, "setMetadata": {"x": 1}, "dryRun": "yes", "namespace": "films"},
    ):
        _refused(raw("POST", "/vectors/update", json=body), 400, 3)
    after = index.fetch(ids=[r["id"] for r in records], namespace="films").vectors
    assert {i: v.metadata for i, v in after.items()} == {i: v.metadata for i, v in before.items()}


def test_update_by_filter_keeps_every_match_within_the_metadata_limit(
    index: Index, raw: Callable[..., requests.Response]
) -> None:
    """The merged metadata of every match must fit 40 KB, or nothing is updated."""
    records = _records(6)
    records[4]["metadata"]["text"] = "x" * 38_000  # within the limit, with little room left
    index.upsert(vectors=records, namespace="films")
    over = {"filter": {"n": {"$gte": 3}}, "setMetadata": {"note": "y" * 3_000}, "namespace": "films"}
    _refused(raw("POST", "/vectors/update", json=over), 400, 3)
    assert "r004" in raw("POST", "/vectors/update", json=over).json()["message"]
    fetched = index.fetch(ids=[r["id"] for r in records], namespace="films").vectors
    assert {i: v.metadata for i, v in fetched.items()} == {r["id"]: r["metadata"] for r in records}

    fits = index.update(filter={"n": {"$gte": 3}}, set_metadata={"note": "y" * 1_000}, namespace="films")
    assert fits.matched_records == 3
    fetched = index.fetch(ids=["r003", "r004", "r005"], namespace="films").vectors
    assert all(v.metadata["note"] == "y" * 1_000 for v in fetched.values())


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dotproduct"])
def test_query_namespaces_merges_the_namespaces(
    pc: Pinecone, request: pytest.FixtureRequest, metric: str
) -> None:
    name = index_name_for(f"{request.node.name}", "qn")
    pc.create_index(name, dimension=4, metric=metric)
    index = pc.Index(name)
    try:
        rng = np.random.default_rng(5)
        vectors = rng.normal(size=(45, 4)).astype(np.float32)
        for part, namespace in enumerate(("a", "b", "c")):
            rows = range(part * 15, part * 15 + 15)
            index.upsert(
                vectors=[(f"v{i}", vectors[i].tolist(), {"part": part}) for i in rows], namespace=namespace
            )
        query = rng.normal(size=4).astype(np.float32)
        if metric == "cosine":
            scores = vectors @ query / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
        elif metric == "dotproduct":
            scores = vectors @ query
        else:
            scores = ((vectors - query) ** 2).sum(axis=1)
        order = np.argsort(scores if metric == "euclidean" else -scores, kind="stable")[:10]
        merged = index.query_namespaces(
            vector=query.tolist(),
            namespaces=["a", "b", "c", "missing"],
            metric=metric,
            top_k=10,
            include_metadata=True,
        )
        assert [match.id for match in merged.matches] == [f"v{i}" for i in order]
        assert [match.score for match in merged.matches] == pytest.approx(scores[order].tolist(), rel=1e-4)
        assert all(match.metadata["part"] == int(match.id[1:]) // 15 for match in merged.matches)
        filtered = index.query_namespaces(
            vector=query.tolist(), namespaces=["a", "c"], metric=metric, top_k=30, filter={"part": 2}
        )
        assert sorted(match.id for match in filtered.matches) == sorted(f"v{i}" for i in range(30, 45))
        nothing = index.query_namespaces(vector=query.tolist(), namespaces=["missing"], metric=metric)
        assert nothing.matches == []
    finally:
        index.close()
        pc.delete_index(name)


def test_a_bad_index_or_filter_is_a_data_plane_error(pc: Pinecone, vector_server: RunningServer) -> None:
    headers = {"Api-Key": vector_server.token or ""}
    missing = f"{vector_server.url}/indexes/no-such-index"
    for method, route, body in (
        ("POST", "/namespaces", {"name": "x"}),
        ("GET", "/namespaces", None),
        ("POST", "/vectors/fetch_by_metadata", {"filter": {"a": 1}}),
        ("POST", "/vectors/update", {"filter": {"a": 1}, "setMetadata": {"b": 2}}),
    ):
        _refused(requests.request(method, missing + route, json=body, headers=headers, timeout=30), 404, 5)
    with pytest.raises(ApiError):
        pc.describe_index("no-such-index")
