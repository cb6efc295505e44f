"""The vector store writes whole batches in one statement; every kind of record must come back intact."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inferhouse.vectors.rows import RowBatch, SparseValues, VectorRow
from inferhouse.vectors.store import VectorStore


def _sparse(indices: list[int], values: list[float]) -> SparseValues:
    return SparseValues(np.array(indices, dtype=np.uint32), np.array(values, dtype=np.float32))


def _upsert(store: VectorStore, namespace: str, records: list[VectorRow]) -> None:
    store.upsert(namespace, RowBatch.of(records))


def _stored(path: Path) -> dict[tuple[str, str], VectorRow]:
    store = VectorStore(path)
    try:
        return {(namespace, record.id): record for namespace, record in store.scan()}
    finally:
        store.close()


def test_every_kind_of_record_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    records = [
        VectorRow("plain", rng.normal(size=3).astype(np.float32)),
        VectorRow("meta", rng.normal(size=3).astype(np.float32), None, {"text": 'é 😀 "q"', "n": 1.5}),
        VectorRow("sparse", rng.normal(size=3).astype(np.float32), _sparse([4, 90], [0.5, -1.0])),
        VectorRow("empty-sparse", rng.normal(size=3).astype(np.float32), _sparse([], [])),
        VectorRow("both", rng.normal(size=3).astype(np.float32), _sparse([7], [2.0]), {"tags": ["a", "b"]}),
        VectorRow('ünï"cødé\\ 😀', rng.normal(size=3).astype(np.float32), None, {"k": True}),
    ]
    store = VectorStore(tmp_path / "v.sqlite3")
    _upsert(store, "ns", records)
    _upsert(store, "", [VectorRow("nul\0inside", np.ones(3, dtype=np.float32), None, {"x": "y"})])
    store.close()
    stored = _stored(tmp_path / "v.sqlite3")
    assert set(stored) == {("ns", record.id) for record in records} | {("", "nul\0inside")}
    for record in records:
        got = stored["ns", record.id]
        assert np.array_equal(got.values, record.values)
        assert got.metadata == record.metadata
        if record.sparse is None:
            assert got.sparse is None
        else:
            assert got.sparse is not None
            assert got.sparse.indices.tolist() == record.sparse.indices.tolist()
            assert got.sparse.values.tolist() == record.sparse.values.tolist()


def test_later_writes_replace_earlier_ones_in_and_across_batches(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "v.sqlite3")
    _upsert(store, "", [VectorRow("a", np.zeros(2, dtype=np.float32), None, {"v": 0})])
    _upsert(
        store,
        "",
        [
            VectorRow("a", np.ones(2, dtype=np.float32), None, {"v": 1}),
            VectorRow("b", np.ones(2, dtype=np.float32)),
            VectorRow("a", np.full(2, 2, dtype=np.float32), None, {"v": 2}),
        ],
    )
    store.close()
    stored = _stored(tmp_path / "v.sqlite3")
    assert sorted(stored) == [("", "a"), ("", "b")]
    assert stored["", "a"].values.tolist() == [2, 2]
    assert stored["", "a"].metadata == {"v": 2}
