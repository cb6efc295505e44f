"""Rewriting a record's chunks: one durable write that adds the new chunks and drops the old ones."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from inferhouse.chunking import Chunk
from inferhouse.integrated.upsert import TextRecord, chunk_batch, chunks_of
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.rows import RowBatch, VectorRow
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

DIMENSION = 3


def _index(path: Path) -> VectorIndex:
    return VectorIndex(IndexConfig("docs", DIMENSION, Metric.COSINE), VectorStore(path))


def _batch(record_id: str, chunks: int, other: str = "x") -> RowBatch:
    record = TextRecord(record_id, "unused", {"shelf": other})
    pieces = [Chunk(f"part {n}", n * 10, n * 10 + 6) for n in range(chunks)]
    vectors = np.random.default_rng(chunks).normal(size=(chunks, DIMENSION)).astype(np.float32)
    return chunk_batch([record], [pieces], "body", vectors)


def _ids(index: VectorIndex) -> set[str]:
    return {
        record_id for record_id in index.fetch("", [f"{r}#{n}" for r in ("a", "b", "a#1") for n in range(6)])
    }


def test_replace_drops_the_chunks_a_record_no_longer_has(tmp_path: Path) -> None:
    index = _index(tmp_path / "docs.sqlite3")
    index.replace("", _batch("a", 5), chunks_of(["a"]))
    index.replace("", _batch("b", 2), chunks_of(["b"]))
    assert _ids(index) == {"a#0", "a#1", "a#2", "a#3", "a#4", "b#0", "b#1"}
    index.replace("", _batch("a", 2), chunks_of(["a"]))
    assert _ids(index) == {"a#0", "a#1", "b#0", "b#1"}
    stored = index.fetch("", ["a#1"])["a#1"]
    assert stored.metadata == {
        "shelf": "x",
        "body": "part 1",
        "_record_id": "a",
        "_chunk": 1,
        "_start_offset": 10,
        "_end_offset": 16,
    }
    empty = RowBatch([], np.empty((0, DIMENSION), dtype=np.float32), [], [])
    index.replace("", empty, chunks_of(["a"]))
    assert _ids(index) == {"b#0", "b#1"}
    index.close()


def test_a_replace_is_one_journal_entry_that_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "docs.sqlite3"
    index = _index(path)
    index.replace("", _batch("a", 4), chunks_of(["a"]))
    index.replace("", _batch("a", 1, other="y"), chunks_of(["a"]))
    index.store.close()  # folds the journal into SQLite; a reopen replays nothing twice
    reopened = _index(path)
    assert _ids(reopened) == {"a#0"}
    assert (reopened.fetch("", ["a#0"])["a#0"].metadata or {})["shelf"] == "y"
    reopened.close()


def test_probing_leaves_vectors_that_only_look_like_chunks(tmp_path: Path) -> None:
    index = _index(tmp_path / "docs.sqlite3")
    index.replace("", _batch("a", 1), chunks_of(["a"]))
    # A plain vector written through the data plane under an id that looks like a's next chunk.
    plain = VectorRow("a#1", np.ones(DIMENSION, dtype=np.float32), None, {"shelf": "z"})
    index.upsert("", [plain])
    index.replace("", _batch("a", 1), chunks_of(["a"]))
    assert _ids(index) == {"a#0", "a#1"}
    index.close()
