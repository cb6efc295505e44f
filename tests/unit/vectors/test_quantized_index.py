"""Quantized indexes: only the graph's codes stay in memory, the float32 rows move to an unlinked file,
and answers keep exact scores and nearly all of the exact top 10."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from inferhouse.errors import BadRequest
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.growable import GrowableMatrix
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.quantization import QUANTIZATION_TAG, Quantization, check_unchanged, quantization_of
from inferhouse.vectors.rows import RowBatch, VectorRow
from inferhouse.vectors.scoring import Metric, dense_scores
from inferhouse.vectors.store import VectorStore
from inferhouse.vectors.vector_file import FileVectors

DIM = 64
SETTINGS = AnnSettings(min_vectors=300, candidates=40)


def _clustered(rng: np.random.Generator, n: int, spread: float = 0.1) -> np.ndarray:
    """Points around 40 centres, like embeddings of a few topics, with lengths within ``spread`` of 1
    (the codes keep direction only; embedding models give vectors of about one length)."""
    centres = np.random.default_rng(99).normal(size=(40, DIM))  # the same topics for rows and queries
    points = centres[rng.integers(0, 40, n)] + 0.5 * rng.normal(size=(n, DIM))
    lengths = rng.uniform(1 - spread, 1 + spread, size=(n, 1)) / np.linalg.norm(points, axis=1, keepdims=True)
    return (points * lengths).astype(np.float32)


def _open(path: Path, quantization: Quantization, metric: Metric = Metric.COSINE) -> VectorIndex:
    tags = {QUANTIZATION_TAG: quantization.value}
    return VectorIndex(IndexConfig("q", DIM, metric, tags=tags), VectorStore(path), SETTINGS)


def _fill(index: VectorIndex, vectors: np.ndarray) -> None:
    ids = [f"v{i}" for i in range(len(vectors))]
    metadata = [{"part": i % 5} for i in range(len(vectors))]
    index.upsert("", RowBatch(ids, vectors, [None] * len(ids), metadata))


def _drain(index: VectorIndex) -> None:
    while index.maintain(256):
        pass


def _check_answers(index: VectorIndex, vectors: np.ndarray, queries: np.ndarray) -> None:
    """Scores equal the exact ones, and at least 95% of the exact top 10 come back."""
    metric = index.config.metric
    norms = np.linalg.norm(vectors, axis=1).astype(np.float32)
    found = 0
    for query in queries:
        exact = dense_scores(vectors, norms, query, metric)
        order = np.argsort(-exact if metric.higher_is_better else exact)[:10]
        matches = index.query("", query, 10)
        for match in matches:
            row = int(match.record.id[1:])
            assert match.score == pytest.approx(float(exact[row]), rel=1e-4, abs=1e-4)
            np.testing.assert_array_equal(match.record.values, vectors[row])
        found += len({f"v{row}" for row in order} & {m.record.id for m in matches})
    assert found >= 0.95 * 10 * len(queries)


@pytest.mark.parametrize("quantization", [Quantization.INT8, Quantization.BINARY])
@pytest.mark.parametrize("metric", list(Metric))
def test_quantized_index_answers_with_exact_scores_and_high_recall(
    tmp_path: Path, quantization: Quantization, metric: Metric
) -> None:
    rng = np.random.default_rng(3)
    vectors = _clustered(rng, 3000)
    index = _open(tmp_path / "q.sqlite3", quantization, metric)
    try:
        _fill(index, vectors)
        _drain(index)
        assert len(index._graphs[""]) == len(vectors)
        assert isinstance(index._namespaces[""]._vectors, FileVectors)
        _check_answers(index, vectors, _clustered(rng, 30))
    finally:
        index.close()


def test_unindexed_deleted_and_overwritten_rows_are_answered_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    vectors = _clustered(rng, 2000)
    index = _open(tmp_path / "q.sqlite3", Quantization.BINARY)
    try:
        _fill(index, vectors)
        _drain(index)
        vectors[:50] = _clustered(rng, 50)  # overwritten, not yet in the graph again
        index.upsert("", RowBatch.of([VectorRow(f"v{i}", vectors[i]) for i in range(50)]))
        index.delete("", [f"v{i}" for i in range(1900, 2000)])  # the delete moves rows into the gaps
        _check_answers(index, vectors[:1900], vectors[:40] + 0.01)
        assert index.fetch("", ["v1950"]) == {}
    finally:
        index.close()


@pytest.mark.parametrize("quantization", [Quantization.INT8, Quantization.BINARY])
def test_a_restarted_quantized_index_loads_its_graph_and_answers_the_same(
    tmp_path: Path, quantization: Quantization
) -> None:
    rng = np.random.default_rng(5)
    vectors = _clustered(rng, 2000)
    queries = _clustered(rng, 20)
    index = _open(tmp_path / "q.sqlite3", quantization)
    _fill(index, vectors)
    _drain(index)
    before = [[m.record.id for m in index.query("", q, 10)] for q in queries]
    index.close()
    reopened = _open(tmp_path / "q.sqlite3", quantization)
    try:
        assert len(reopened._graphs[""]) == len(vectors)  # loaded, not rebuilt
        assert not reopened._namespaces[""].unindexed
        assert [[m.record.id for m in reopened.query("", q, 10)] for q in queries] == before
    finally:
        reopened.close()


def test_a_graph_saved_for_another_quantization_is_rebuilt_not_loaded(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    vectors = _clustered(rng, 1000)
    index = _open(tmp_path / "q.sqlite3", Quantization.INT8)
    _fill(index, vectors)
    _drain(index)
    index.close()
    reopened = _open(tmp_path / "q.sqlite3", Quantization.BINARY)
    try:
        assert "" not in reopened._graphs
        _drain(reopened)
        _check_answers(reopened, vectors, _clustered(rng, 20))
    finally:
        reopened.close()


def test_the_vector_file_is_unlinked_and_keeps_rows_through_growth_and_moves(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    rng = np.random.default_rng(8)
    in_file = Namespace(DIM, lambda dimension: FileVectors(dimension, tmp_path, capacity=4))
    in_memory = Namespace(DIM)
    request.addfinalizer(in_file.close)
    records = [VectorRow(f"r{i}", v, metadata={"i": i}) for i, v in enumerate(_clustered(rng, 500))]
    for space in (in_file, in_memory):
        space.put(RowBatch.of(records[:300]))
        space.commit(space.stage(RowBatch.of(records[300:])), RowBatch.of(records[300:]))
        space.remove([f"r{i}" for i in range(0, 500, 7)])
        space.put(RowBatch.of([VectorRow("r1", records[2].values, metadata={"moved": True})]))
    assert os.listdir(tmp_path) == []  # nothing to clean up after a crash
    np.testing.assert_array_equal(in_file.matrix, in_memory.matrix)
    for query in _clustered(rng, 5):
        assert in_file.search(query, 10, Metric.COSINE) == in_memory.search(query, 10, Metric.COSINE)
    moved_file, moved_memory = in_file.get("r1"), in_memory.get("r1")
    assert moved_file is not None
    assert moved_memory is not None
    np.testing.assert_array_equal(moved_file.values, moved_memory.values)
    assert moved_file.metadata == moved_memory.metadata == {"moved": True}
    assert in_file.disk_bytes >= 500 * DIM * 4
    assert in_memory.disk_bytes == 0
    assert isinstance(in_memory._vectors, GrowableMatrix)


def test_the_quantization_tag_is_checked_and_fixed() -> None:
    assert quantization_of({}) is Quantization.NONE
    assert quantization_of({QUANTIZATION_TAG: "binary"}) is Quantization.BINARY
    with pytest.raises(BadRequest, match="int8, binary"):
        quantization_of({QUANTIZATION_TAG: "int4"})
    check_unchanged({QUANTIZATION_TAG: "int8"}, {QUANTIZATION_TAG: "int8", "team": "x"})
    check_unchanged({}, {QUANTIZATION_TAG: "none"})
    for update in ({QUANTIZATION_TAG: "binary"}, {QUANTIZATION_TAG: ""}):
        with pytest.raises(BadRequest, match="fixed when an index is created"):
            check_unchanged({QUANTIZATION_TAG: "int8"}, update)
