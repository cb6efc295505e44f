"""Exact search in a namespace against a brute-force numpy reference, for every metric."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.rows import RowBatch, SparseValues, VectorRow
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore


def _records(rng: np.random.Generator, n: int, dim: int) -> list[VectorRow]:
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    return [
        VectorRow(f"id{i:03d}", vectors[i], None, {"bucket": i % 5, "even": i % 2 == 0}) for i in range(n)
    ]


def _put(space: Namespace, records: list[VectorRow]) -> None:
    space.put(RowBatch.of(records))


def _reference(
    records: list[VectorRow], query: np.ndarray, metric: Metric, k: int
) -> list[tuple[str, float]]:
    scored = []
    for record in records:
        v = record.values.astype(np.float64)
        q = query.astype(np.float64)
        if metric is Metric.COSINE:
            score = float(v @ q / (np.linalg.norm(v) * np.linalg.norm(q)))
        elif metric is Metric.DOTPRODUCT:
            score = float(v @ q)
        else:
            score = float(np.sum((v - q) ** 2))
        scored.append((record.id, score))
    sign = -1 if metric.higher_is_better else 1
    return sorted(scored, key=lambda item: (sign * item[1], item[0]))[:k]


@pytest.mark.parametrize("metric", list(Metric))
def test_top_k_matches_brute_force(metric: Metric) -> None:
    rng = np.random.default_rng(1)
    records = _records(rng, 300, 16)
    space = Namespace(16)
    _put(space, records)
    for _ in range(10):
        query = rng.normal(size=16).astype(np.float32)
        got = [(space.ids[h.row], h.score) for h in space.search(query, 10, metric)]
        want = _reference(records, query, metric, 10)
        assert [i for i, _ in got] == [i for i, _ in want]
        assert np.allclose([s for _, s in got], [s for _, s in want], rtol=1e-4, atol=1e-4)


def test_selective_filter_still_returns_exact_top_k() -> None:
    rng = np.random.default_rng(2)
    records = _records(rng, 500, 8)
    space = Namespace(8)
    _put(space, records)
    query = rng.normal(size=8).astype(np.float32)
    hits = space.search(query, 7, Metric.COSINE, compile_filter({"bucket": 3}))
    want = _reference(
        [r for r in records if r.metadata and r.metadata["bucket"] == 3], query, Metric.COSINE, 7
    )
    assert [space.ids[h.row] for h in hits] == [i for i, _ in want]


def test_ties_are_broken_by_id() -> None:
    space = Namespace(2)
    _put(space, [VectorRow(name, np.array([1.0, 0.0], dtype=np.float32)) for name in ["c", "a", "d", "b"]])
    hits = space.search(np.array([1.0, 0.0], dtype=np.float32), 3, Metric.DOTPRODUCT)
    assert [space.ids[h.row] for h in hits] == ["a", "b", "c"]


def test_delete_and_overwrite_keep_rows_consistent() -> None:
    rng = np.random.default_rng(3)
    records = _records(rng, 50, 4)
    space = Namespace(4)
    _put(space, records)
    assert space.remove(["id000", "id049", "id010", "missing"]) == 3
    _put(space, [VectorRow("id020", np.ones(4, dtype=np.float32), None, {"new": True})])
    assert len(space) == 47
    for record in records:
        got = space.get(record.id)
        if record.id in ("id000", "id049", "id010"):
            assert got is None
        elif record.id == "id020":
            assert got is not None
            assert got.metadata == {"new": True}
        else:
            assert got is not None
            assert np.array_equal(got.values, record.values)
            assert got.metadata == record.metadata


def test_sparse_scores_add_to_dense_dot_products() -> None:
    space = Namespace(2)
    sparse = SparseValues(np.array([3, 9], dtype=np.uint32), np.array([0.5, 2.0], dtype=np.float32))
    _put(
        space,
        [
            VectorRow("s", np.array([1.0, 0.0], dtype=np.float32), sparse),
            VectorRow("d", np.array([0.0, 1.0], dtype=np.float32)),
        ],
    )
    query_sparse = SparseValues(np.array([9], dtype=np.uint32), np.array([1.5], dtype=np.float32))
    hits = space.search(
        np.array([1.0, 1.0], dtype=np.float32), 2, Metric.DOTPRODUCT, sparse_query=query_sparse
    )
    assert [(space.ids[h.row], h.score) for h in hits] == [("s", 4.0), ("d", 1.0)]


def test_a_batch_mixing_new_existing_and_repeated_ids_keeps_the_last_of_each() -> None:
    space = Namespace(2)
    _put(
        space,
        [VectorRow("a", np.array([1, 0], dtype=np.float32)), VectorRow("b", np.ones(2, np.float32))],
    )
    _put(
        space,
        [
            VectorRow("c", np.array([0, 1], dtype=np.float32)),
            VectorRow("a", np.array([2, 2], dtype=np.float32), None, {"v": 1}),
            VectorRow("c", np.array([3, 3], dtype=np.float32), None, {"v": 2}),
        ],
    )
    assert len(space) == 3
    got = {vector_id: space.get(vector_id) for vector_id in ("a", "b", "c")}
    for vector_id, value, metadata in (("a", 2, {"v": 1}), ("c", 3, {"v": 2})):
        record = got[vector_id]
        assert record is not None
        assert record.values.tolist() == [value, value]
        assert record.metadata == metadata
    hits = space.search(np.array([1, 1], dtype=np.float32), 3, Metric.DOTPRODUCT)
    assert [space.ids[hit.row] for hit in hits] == ["c", "a", "b"]


def test_metadata_read_back_from_the_store_is_the_metadata_written(tmp_path: Path) -> None:
    """Rows loaded at start-up keep the store's JSON instead of pickling each dict again; fetches, updates
    by filter (which pickle the rows they change) and a caller's own predicate read both alike."""
    records: list[dict[str, object] | None] = [
        {"genre": "drama", "year": 1999, "score": 0.25, "tags": ["a", "é"], "seen": False},
        None,
        {"genre": "comedy", "year": -(2**53), "note": 'quote " and \\ slash'},
    ]
    ids = ["a", "b", "c"]

    def opened() -> VectorIndex:
        return VectorIndex(IndexConfig("m", 2, Metric.COSINE), VectorStore(tmp_path / "m.sqlite3"))

    index = opened()
    index.upsert("", RowBatch(ids, np.ones((3, 2), dtype=np.float32), [None] * 3, records))
    index.close()
    index = opened()
    assert [index.fetch("", ids)[i].metadata for i in ids] == records
    assert index.update_matching("", compile_filter({"genre": "drama"}), {"seen": True}, dry_run=False) == 1
    assert index.fetch("", ["a"])["a"].metadata == {**records[0], "seen": True}  # type: ignore[dict-item]
    space = index._namespaces[""]
    assert space.matching_rows(lambda metadata: metadata.get("year") == -(2**53)).tolist() == [
        False,
        False,
        True,
    ]
    index.close()
    index = opened()
    assert [index.fetch("", ids)[i].metadata for i in ids] == [{**records[0], "seen": True}, None, records[2]]  # type: ignore[dict-item]
    index.close()
