"""A server over an index large enough for an ANN graph, with an ONNX endpoint, restarts and serves.

A restart rebuilds the graph (usearch) while the endpoint loads ONNX Runtime: that start crashed every
time once a namespace passed the graph's threshold (README, Native libraries).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import requests

from tests.support.server import RunningServer, start_server

DIMENSION = 8
VECTORS = 31_000  # past the default INFERHOUSE_ANN_MIN_VECTORS (20,000): every start builds a graph
SEGMENT = 1_000  # INFERHOUSE_ANN_SEGMENT_VECTORS: the graph grows in segments of this many
BATCH = 1000
INDEX = "large"


@dataclass
class LargeIndex:
    data_dir: Path
    env: dict[str, str]
    vectors: dict[str, npt.NDArray[np.float32]]  # every acknowledged vector, by id


def _upsert(server: RunningServer, ids: list[str], values: npt.NDArray[np.float32]) -> None:
    body = {"vectors": [{"id": i, "values": row.tolist()} for i, row in zip(ids, values, strict=True)]}
    reply = requests.post(
        f"{server.url}/indexes/{INDEX}/vectors/upsert", json=body, headers=_api_key(server), timeout=60
    )
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"upsertedCount": len(ids)}


def _api_key(server: RunningServer) -> dict[str, str]:
    return {"Api-Key": server.token or ""}


@pytest.fixture(scope="module")
def large_index(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> LargeIndex:
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_BACKEND": "onnx",
        "INFERHOUSE_MODELS": json.dumps({"tiny": str(tiny_model_dir)}),
        "INFERHOUSE_ENDPOINTS": json.dumps([{"name": "emb", "model": "tiny", "task": "sentence-embeddings"}]),
        "INFERHOUSE_ANN_SEGMENT_VECTORS": str(SEGMENT),
    }
    data_dir = tmp_path_factory.mktemp("large-index")
    values = np.random.default_rng(7).standard_normal((VECTORS, DIMENSION), dtype=np.float32)
    ids = [f"v{i}" for i in range(VECTORS)]
    server = start_server(data_dir, env=env)
    try:
        body = {"name": INDEX, "dimension": DIMENSION, "metric": "cosine"}
        created = requests.post(f"{server.url}/indexes", json=body, headers=_api_key(server), timeout=30)
        assert created.status_code == 201, created.text
        for start in range(0, VECTORS, BATCH):
            _upsert(server, ids[start : start + BATCH], values[start : start + BATCH])
    finally:
        server.stop()
    return LargeIndex(data_dir, env, dict(zip(ids, values, strict=True)))


def _assert_serves(server: RunningServer, large: LargeIndex) -> None:
    """The ONNX endpoint embeds, and a query finds the exact nearest acknowledged vectors."""
    embedded = requests.post(
        f"{server.url}/endpoints/emb/embed", json={"inputs": ["whales eat krill"]}, headers=server.headers
    )
    assert embedded.status_code == 200, embedded.text
    logs = requests.get(f"{server.url}/v2/endpoint/local/emb/logs", headers=server.headers, timeout=30).text
    assert "backend onnx: asked for" in logs

    stats = requests.post(
        f"{server.url}/indexes/{INDEX}/describe_index_stats", json={}, headers=_api_key(server), timeout=30
    )
    assert stats.json()["totalVectorCount"] == len(large.vectors)
    query = np.ones(DIMENSION, dtype=np.float32)
    found = requests.post(
        f"{server.url}/indexes/{INDEX}/query",
        json={"vector": query.tolist(), "topK": 3},
        headers=_api_key(server),
        timeout=30,
    )
    assert found.status_code == 200, found.text
    ids = list(large.vectors)
    matrix = np.stack(list(large.vectors.values()))
    cosines = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    assert [match["id"] for match in found.json()["matches"]] == [ids[i] for i in np.argsort(-cosines)[:3]]
    assert server.process.poll() is None


def test_a_restart_over_a_large_index_serves_embeddings_and_queries(large_index: LargeIndex) -> None:
    server = start_server(large_index.data_dir, env=large_index.env)
    try:
        _assert_serves(server, large_index)
        # The graph saved at the clean stop is loaded, not built again: what it held at the stop plus the
        # rows it had yet to take in make up the index, and none of its keys is out of date. It was saved
        # in as many segments as its vectors fill.
        loaded = re.search(
            r"loaded its saved graph of (\d+) vectors in (\d+) segment\(s\); (\d+) rows to add, 0 to drop",
            server.log(),
        )
        assert loaded is not None, server.log()
        held, segments, to_add = (int(group) for group in loaded.groups())
        assert held > 0
        assert segments == math.ceil(held / SEGMENT) >= 2
        assert held + to_add == VECTORS
    finally:
        server.stop()


def test_kill_9_and_restart_cycles_keep_acknowledged_vectors(large_index: LargeIndex) -> None:
    rng = np.random.default_rng(11)
    for cycle in range(3):
        server = start_server(large_index.data_dir, env=large_index.env)
        _assert_serves(server, large_index)  # everything acknowledged before the last kill is there
        ids = [f"cycle{cycle}-{i}" for i in range(BATCH)]
        values = rng.standard_normal((BATCH, DIMENSION), dtype=np.float32)
        _upsert(server, ids, values)
        large_index.vectors.update(zip(ids, values, strict=True))
        server.kill()  # right after the acknowledgement, while the graph takes in the new rows
    server = start_server(large_index.data_dir, env=large_index.env)
    try:
        _assert_serves(server, large_index)
        fetched: dict[str, list[float]] = {}
        for start in range(0, BATCH, 200):  # the ids travel in the query string
            reply = requests.get(
                f"{server.url}/indexes/{INDEX}/vectors/fetch",
                params={"ids": ids[start : start + 200]},
                headers=_api_key(server),
                timeout=30,
            )
            assert reply.status_code == 200, reply.text
            fetched.update({i: v["values"] for i, v in reply.json()["vectors"].items()})
        assert sorted(fetched) == sorted(ids)  # the batch acknowledged just before the last kill
        assert np.allclose([fetched[i] for i in ids], values)
    finally:
        server.stop()
