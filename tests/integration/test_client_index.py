"""The Python client's index operations against a real server, and its upsert splitting offline."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from inferhouse.client import Client, IndexDescription, InferhouseAPIError, Match, Vector
from inferhouse.client._vectors import MAX_UPSERT_BYTES, MAX_UPSERT_VECTORS
from tests.support.server import RunningServer, index_name_for


@pytest.fixture
def client(server: RunningServer) -> Iterator[Client]:
    with Client(server.url, token=server.token) as made:
        yield made


@pytest.fixture
def index(client: Client, request: pytest.FixtureRequest) -> Iterator[str]:
    name = index_name_for(request.node.name, "c")
    client.create_index(name, 4, tags={"team": "search"})
    yield name
    client.delete_index(name)


def _vectors(n: int, prefix: str = "v") -> list[dict[str, object]]:
    return [
        {
            "id": f"{prefix}{i:04d}",
            "values": [1.0, float(i), 0.0, 0.5],
            "metadata": {"i": i, "even": i % 2 == 0},
        }
        for i in range(n)
    ]


def test_control_plane(client: Client, index: str) -> None:
    described = client.describe_index(index)
    assert described == IndexDescription(
        index, 4, "cosine", described.host, "disabled", {"team": "search"}, ready=True
    )
    assert described.host.endswith(f"/indexes/{index}")
    assert index in [found.name for found in client.list_indexes()]
    with pytest.raises(InferhouseAPIError) as caught:
        client.create_index(index, 4)
    assert (caught.value.status_code, caught.value.kind) == (409, "ALREADY_EXISTS")
    assert index in caught.value.message


def test_upsert_stats_query_fetch(client: Client, index: str) -> None:
    assert client.upsert(index, _vectors(30)) == 30
    assert client.upsert(index, _vectors(5, "n"), namespace="other") == 5
    stats = client.index_stats(index)
    assert (stats.dimension, stats.total_vector_count, stats.namespaces) == (4, 35, {"": 30, "other": 5})
    assert client.index_stats(index, filter={"even": True}).total_vector_count == 15 + 3

    matches = client.query(index, [1.0, 7.0, 0.0, 0.5], top_k=3, filter={"even": False})
    assert matches[0].id == "v0007"
    assert all(match.metadata["i"] % 2 == 1 for match in matches)
    assert matches[0].metadata == {"i": 7, "even": False}
    assert matches[0].values == []
    by_id = client.query(index, id="v0003", top_k=1, include_values=True, include_metadata=False)
    assert by_id == [Match("v0003", pytest.approx(1.0), {}, [1.0, 3.0, 0.0, 0.5])]
    assert client.query(index, id="n0001", top_k=2, namespace="other")[0].id == "n0001"
    with pytest.raises(ValueError, match="exactly one"):
        client.query(index, [1.0, 0, 0, 0], id="v0001")

    fetched = client.fetch(index, ["v0001", "v0002", "missing"])
    assert fetched == {
        "v0001": Vector("v0001", [1.0, 1.0, 0.0, 0.5], {"i": 1, "even": False}),
        "v0002": Vector("v0002", [1.0, 2.0, 0.0, 0.5], {"i": 2, "even": True}),
    }


def test_list_ids_pages_and_delete(client: Client, index: str) -> None:
    client.upsert(index, _vectors(250) + _vectors(3, "w"))
    assert list(client.list_ids(index, prefix="v")) == [f"v{i:04d}" for i in range(250)]
    assert list(client.list_ids(index)) == [f"v{i:04d}" for i in range(250)] + ["w0000", "w0001", "w0002"]
    client.delete(index, ids=["w0000", "w0001"])
    client.delete(index, filter={"i": {"$gte": 200}})
    assert client.index_stats(index).total_vector_count == 200 + 1
    with pytest.raises(ValueError, match="exactly one"):
        client.delete(index)
    client.delete(index, delete_all=True)
    assert client.index_stats(index).total_vector_count == 0


def test_large_upserts_are_split_under_the_server_limits(client: Client, index: str) -> None:
    name = index + "-wide"
    client.create_index(name, 384, metric="dotproduct")
    try:
        rng = np.random.default_rng(0)
        vectors = [{"id": f"x{i}", "values": rng.normal(size=384)} for i in range(1200)]
        assert client.upsert(name, vectors) == 1200  # about 9 MB of JSON, from numpy arrays
        assert client.index_stats(name).total_vector_count == 1200
        assert len(client.fetch(name, [f"x{i}" for i in range(1200)])) == 1200
    finally:
        client.delete_index(name)


def test_error_shapes(client: Client, server: RunningServer) -> None:
    with pytest.raises(InferhouseAPIError) as control:
        client.describe_index("nope")
    assert (control.value.status_code, control.value.kind) == (404, "NOT_FOUND")
    with pytest.raises(InferhouseAPIError) as data:
        client.query("nope", [1.0, 0.0], top_k=1)
    assert (data.value.status_code, data.value.kind, data.value.message) == (
        404,
        "NOT_FOUND",
        "Resource nope not found",
    )
    with pytest.raises(InferhouseAPIError) as endpoint:
        client.embed("x", endpoint="no-such-endpoint")
    assert (endpoint.value.status_code, endpoint.value.kind) == (404, "not_found")
    with Client(server.url, token="wrong") as stranger, pytest.raises(InferhouseAPIError) as refused:
        stranger.list_indexes()
    assert (refused.value.status_code, refused.value.kind) == (401, "UNAUTHENTICATED")


def test_upsert_requests_respect_count_and_size_limits() -> None:
    sizes: list[tuple[int, int]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        sizes.append((len(body["vectors"]), len(request.content)))
        assert body["namespace"] == "ns"
        return httpx.Response(200, json={"upsertedCount": len(body["vectors"])})

    http = httpx.Client(base_url="http://test", transport=httpx.MockTransport(handler))
    with Client(http_client=http) as offline:
        small = [{"id": str(i), "values": [0.5]} for i in range(2500)]
        assert offline.upsert("idx", small, namespace="ns") == 2500
        assert [count for count, _ in sizes] == [MAX_UPSERT_VECTORS, MAX_UPSERT_VECTORS, 500]
        sizes.clear()
        wide = [{"id": str(i), "values": [0.123456789] * 2000} for i in range(300)]
        assert offline.upsert("idx", wide, namespace="ns") == 300
    assert len(sizes) > 1
    assert all(size <= MAX_UPSERT_BYTES for _, size in sizes)
    assert sum(count for count, _ in sizes) == 300


def test_create_a_quantized_index(client: Client, request: pytest.FixtureRequest) -> None:
    name = index_name_for(request.node.name, "c")
    created = client.create_index(name, 8, quantization="int8", tags={"team": "search"})
    try:
        assert created.quantization == "int8"
        assert created.tags == {"team": "search", "inferhouse-quantization": "int8"}
        assert client.describe_index(name).quantization == "int8"
        assert {found.name: found.quantization for found in client.list_indexes()}[name] == "int8"
    finally:
        client.delete_index(name)
    with pytest.raises(InferhouseAPIError) as caught:
        client.create_index(name, 8, quantization="int4")
    assert caught.value.status_code == 400
    assert "inferhouse-quantization" in caught.value.message
    assert name not in [found.name for found in client.list_indexes()]
