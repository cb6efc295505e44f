"""Quantized indexes through the real pinecone 10.x client: chosen by a tag at create time, searched
through an int8 or binary graph with exact scores, fixed afterwards, kept by backups and restarts.

Approximate search starts at 1,000 vectors here, so a few thousand vectors go through the graph.
"""

from __future__ import annotations

import resource
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from pinecone import ApiError, Pinecone

from tests.support.postgres import PostgresServer
from tests.support.quantized import (
    GRAPH_DTYPES,
    QUANTIZATION_TAG,
    Vectors,
    clustered,
    cosine_scores,
    saved_graph,
)
from tests.support.server import RunningServer, start_server

DIMENSION = 64
ENV = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ANN_MIN_VECTORS": "1000"}
NAMESPACES = 1100  # past what 1,024 open files hold at one a namespace


@pytest.fixture(scope="module")
def quant_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    server = start_server(tmp_path_factory.mktemp("quantized"), env=ENV)
    yield server
    server.stop()


@pytest.fixture
def pc(quant_server: RunningServer) -> Iterator[Pinecone]:
    with Pinecone(api_key=quant_server.token, host=quant_server.url) as client:
        yield client


def _records(values: Vectors, prefix: str = "v") -> list[dict[str, Any]]:
    return [
        {"id": f"{prefix}{i}", "values": row.tolist(), "metadata": {"i": i, "tags": [f"t{i % 3}"]}}
        for i, row in enumerate(values)
    ]


def _fill(pc: Pinecone, name: str, values: Vectors) -> None:
    with pc.Index(name) as index:
        index.upsert(vectors=_records(values), batch_size=500, show_progress=False)


def _search(pc: Pinecone, name: str, queries: Vectors, top_k: int = 10) -> list[list[tuple[str, float]]]:
    with pc.Index(name) as index:
        return [
            [(match.id, match.score) for match in index.query(vector=query.tolist(), top_k=top_k).matches]
            for query in queries
        ]


def _assert_exact_scores(found: list[list[tuple[str, float]]], values: Vectors, queries: Vectors) -> float:
    """Every score returned is the exact cosine score of that vector; returns recall@k against the exact
    top k."""
    recalled = 0.0
    for matches, query in zip(found, queries, strict=True):
        exact = cosine_scores(values, query)
        for vector_id, score in matches:
            assert score == pytest.approx(exact[int(vector_id[1:])], rel=1e-5, abs=1e-6), vector_id
        best = {f"v{i}" for i in np.argsort(-exact, kind="stable")[: len(matches)]}
        recalled += len(best & {vector_id for vector_id, _ in matches}) / len(matches)
    return recalled / len(found)


@pytest.mark.parametrize("quantization", ["int8", "binary"])
def test_a_quantized_index_searches_through_its_graph_with_exact_scores(
    pc: Pinecone, quant_server: RunningServer, quantization: str
) -> None:
    name = f"search-{quantization}"
    pc.create_index(name, dimension=DIMENSION, metric="cosine", tags={QUANTIZATION_TAG: quantization})
    assert pc.describe_index(name).tags == {QUANTIZATION_TAG: quantization}
    values, queries = clustered(3000, 50, DIMENSION, seed=11)
    _fill(pc, name, values)
    manifest = saved_graph(quant_server.data_dir, name, len(values))
    assert manifest["settings"]["dtype"] == GRAPH_DTYPES[quantization]  # the graph holds codes only

    assert _assert_exact_scores(_search(pc, name, queries), values, queries) >= 0.95

    with pc.Index(name) as index:
        fetched = index.fetch(ids=["v0", "v2999", "missing"]).vectors
        assert sorted(fetched) == ["v0", "v2999"]
        for vector_id, position in (("v0", 0), ("v2999", 2999)):
            assert np.array_equal(np.asarray(fetched[vector_id].values, dtype=np.float32), values[position])
            assert fetched[vector_id].metadata == {"i": position, "tags": [f"t{position % 3}"]}

        moved = values[5] * -2  # the opposite direction: far from everything it was near
        index.update(id="v7", values=moved.tolist(), set_metadata={"moved": True})
        updated = index.fetch(ids=["v7"]).vectors["v7"]
        assert np.array_equal(np.asarray(updated.values, dtype=np.float32), moved)
        assert updated.metadata == {"i": 7, "tags": ["t1"], "moved": True}
        top = index.query(vector=moved.tolist(), top_k=1, include_metadata=True).matches[0]
        assert (top.id, top.metadata["moved"]) == ("v7", True)
        assert top.score == pytest.approx(1.0, abs=1e-6)

        gone = [f"v{i}" for i in range(100, 110)]
        index.delete(ids=gone)
        assert index.fetch(ids=gone).vectors == {}
        assert index.describe_index_stats().total_vector_count == len(values) - len(gone)
        near_gone = index.query(vector=values[100].tolist(), top_k=20).matches
        assert not {match.id for match in near_gone} & set(gone)
    pc.delete_index(name)


def _refused(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(ApiError) as refused:
        call(*args, **kwargs)
    assert refused.value.status_code == 400
    return str(refused.value)


def test_the_quantization_is_fixed_at_creation(pc: Pinecone) -> None:
    pc.create_index("fixed", dimension=8, metric="cosine", tags={QUANTIZATION_TAG: "binary", "team": "a"})
    for change in ("int8", "none", ""):  # "" removes a tag
        message = _refused(pc.configure_index, "fixed", tags={QUANTIZATION_TAG: change})
        assert "fixed when an index is created" in message
    assert pc.describe_index("fixed").tags == {QUANTIZATION_TAG: "binary", "team": "a"}
    # Repeating it is no change; other tags change as ever.
    pc.configure_index("fixed", tags={QUANTIZATION_TAG: "binary", "team": "b"})
    assert pc.describe_index("fixed").tags == {QUANTIZATION_TAG: "binary", "team": "b"}
    pc.configure_index("fixed", tags={"team": ""})
    assert pc.describe_index("fixed").tags == {QUANTIZATION_TAG: "binary"}

    pc.create_index("plain", dimension=8, metric="cosine")
    _refused(pc.configure_index, "plain", tags={QUANTIZATION_TAG: "int8"})
    assert pc.describe_index("plain").tags is None

    message = _refused(pc.create_index, "unknown", dimension=8, tags={QUANTIZATION_TAG: "int4"})
    assert "must be one of none, int8, binary" in message
    assert not pc.has_index("unknown")
    for name in ("fixed", "plain"):
        pc.delete_index(name)


def test_a_restore_keeps_the_backups_quantization_unless_the_tags_name_one(pc: Pinecone) -> None:
    pc.create_index("source", dimension=DIMENSION, metric="cosine", tags={QUANTIZATION_TAG: "binary"})
    values, queries = clustered(1200, 10, DIMENSION, seed=21)
    _fill(pc, "source", values)
    backup = pc.create_backup(index_name="source", backup_name="quantized")
    assert backup.tags == {QUANTIZATION_TAG: "binary"}

    expected = {
        "same": (None, {QUANTIZATION_TAG: "binary"}),
        "team": ({"team": "x"}, {QUANTIZATION_TAG: "binary", "team": "x"}),
        "eight": ({QUANTIZATION_TAG: "int8"}, {QUANTIZATION_TAG: "int8"}),
    }
    for name, (tags, kept) in expected.items():
        restored = pc.create_index_from_backup(backup_id=backup.backup_id, name=name, tags=tags)
        assert restored.tags == kept
        assert pc.describe_index(name).tags == kept
        assert _assert_exact_scores(_search(pc, name, queries), values, queries) >= 0.9
        pc.delete_index(name)
    _refused(
        pc.create_index_from_backup, backup_id=backup.backup_id, name="odd", tags={QUANTIZATION_TAG: "int4"}
    )
    assert not pc.has_index("odd")
    pc.delete_backup(backup_id=backup.backup_id)
    pc.delete_index("source")


def test_a_restarted_quantized_index_answers_as_before(tmp_path: Path) -> None:
    values, queries = clustered(2000, 20, DIMENSION, seed=31)
    server = start_server(tmp_path, env=ENV)
    try:
        with Pinecone(api_key=server.token, host=server.url) as pc:
            pc.create_index("kept", dimension=DIMENSION, metric="cosine", tags={QUANTIZATION_TAG: "int8"})
            _fill(pc, "kept", values)
            saved_graph(tmp_path, "kept", len(values))
            before = _search(pc, "kept", queries)
    finally:
        server.stop()
    # The float32 rows were in an unlinked file: nothing of it is left beside the index.
    assert not list((tmp_path / "indexes").glob(".vectors-*"))

    server = start_server(tmp_path, env=ENV)
    try:
        with Pinecone(api_key=server.token, host=server.url) as pc:
            assert pc.describe_index("kept").tags == {QUANTIZATION_TAG: "int8"}
            assert _search(pc, "kept", queries) == before
            with pc.Index("kept") as index:
                fetched = index.fetch(ids=["v1234"]).vectors["v1234"]
                assert np.array_equal(np.asarray(fetched.values, dtype=np.float32), values[1234])
        assert "loaded its saved graph of 2000 vectors" in server.log()
    finally:
        server.stop()
    assert _assert_exact_scores(before, values, queries) >= 0.95


def test_the_pgvector_backend_refuses_a_quantized_index(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    env = {
        **ENV,
        "INFERHOUSE_VECTOR_STORE": "pgvector",
        "INFERHOUSE_DATABASE_URL": postgres_server.database_for(f"quantized-{tmp_path}"),
    }
    server = start_server(tmp_path, env=env)
    try:
        body = {"name": "packed", "dimension": 8, "metric": "cosine", "tags": {QUANTIZATION_TAG: "binary"}}
        reply = requests.post(f"{server.url}/indexes", json=body, headers=server.headers, timeout=30)
        assert reply.status_code == 400
        error = reply.json()  # Pinecone's control-plane shape
        assert (sorted(error), error["status"], error["error"]["code"]) == (
            ["error", "status"],
            400,
            "INVALID_ARGUMENT",
        )
        assert "applies to the embedded backend" in error["error"]["message"]
        with Pinecone(api_key=server.token, host=server.url) as pc:
            _refused(pc.create_index, "packed", dimension=8, tags={QUANTIZATION_TAG: "int8"})
            assert not pc.has_index("packed")
            # "none" is what pgvector does anyway.
            pc.create_index("plain", dimension=8, tags={QUANTIZATION_TAG: "none"})
            assert pc.describe_index("plain").tags == {QUANTIZATION_TAG: "none"}
    finally:
        server.stop()


def test_a_quantized_index_holds_many_namespaces_under_a_low_open_files_limit(tmp_path: Path) -> None:
    """Each namespace keeps its vector file open; the server lifts a soft limit of 1024 open files so a
    quantized index with more namespaces than that allows still takes writes and opens again."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * NAMESPACES:
        pytest.skip(f"the hard limit on open files ({hard}) leaves no room")
    names = [f"tenant-{n}" for n in range(NAMESPACES)]

    def start() -> RunningServer:
        resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # the server inherits it
        try:
            return start_server(tmp_path, env=ENV)
        finally:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    server = start()
    try:
        reply = requests.post(
            f"{server.url}/indexes",
            json={"name": "tenants", "dimension": 4, "tags": {QUANTIZATION_TAG: "binary"}},
            headers=server.headers,
            timeout=30,
        )
        assert reply.status_code == 201, reply.text
        with requests.Session() as session:
            session.headers.update(server.headers)
            for position, namespace in enumerate(names):
                body = {
                    "vectors": [{"id": "a", "values": [1.0, float(position), 0.0, 1.0]}],
                    "namespace": namespace,
                }
                upserted = session.post(f"{server.url}/indexes/tenants/vectors/upsert", json=body, timeout=30)
                assert upserted.status_code == 200, (namespace, upserted.text)
    finally:
        server.stop()
    server = start()
    try:
        with Pinecone(api_key=server.token, host=server.url) as pc, pc.Index("tenants") as index:
            assert len(index.describe_index_stats().namespaces) == NAMESPACES
            fetched = index.fetch(ids=["a"], namespace=names[-1]).vectors["a"]
            assert fetched.values == [1.0, float(NAMESPACES - 1), 0.0, 1.0]
    finally:
        server.stop()
