"""The journal in front of the vector store: torn tails, segment rotation, replay after a crash."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.journal import Journal, Position
from inferhouse.vectors.operations import Delete, DropNamespace, encode, upsert_of
from inferhouse.vectors.rows import RowBatch, VectorRow
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore, journal_directory


def test_entries_come_back_in_order_across_segments(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=100)
    payloads = [bytes([i]) * (10 + i) for i in range(20)]
    for payload in payloads:
        journal.append([payload[:3], payload[3:]])
    assert len(journal.segments()) > 3
    read, reached = journal.read(journal.start, journal.end, max_bytes=1 << 20)
    assert read == payloads
    assert reached == journal.end
    first, middle = journal.read(journal.start, journal.end, max_bytes=50)  # stops at a byte budget
    rest, _ = journal.read(middle, journal.end, max_bytes=1 << 20)
    assert first + rest == payloads


def test_a_torn_tail_is_cut_off_on_open(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append([b"kept"])
    end = journal.append([b"also kept"])
    journal.close()
    segment = tmp_path / "00000001.log"
    with open(segment, "ab") as file:
        file.write(b"\x40\x00\x00\x00\x00\x00")  # a header promising 64 bytes, then a crash
    reopened = Journal(tmp_path)
    assert reopened.end == end
    assert os.path.getsize(segment) == end.offset
    assert reopened.read(reopened.start, reopened.end, 1 << 20)[0] == [b"kept", b"also kept"]
    reopened.append([b"after"])
    assert reopened.read(Position(1, end.offset), reopened.end, 1 << 20)[0] == [b"after"]


def test_release_keeps_the_segment_being_written(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=64)
    for _ in range(6):
        journal.append([b"x" * 40])
    journal.release_before(journal.end.segment + 5)
    assert journal.segments() == [journal.end.segment]


def _vector(value: float) -> np.ndarray:
    return np.full(4, value, dtype=np.float32)


def test_acknowledged_writes_left_only_in_the_journal_are_replayed(tmp_path: Path) -> None:
    """A crash before the applier folded anything into SQLite: the next open replays the journal,
    upserts and deletes in their original order."""
    path = tmp_path / "idx.sqlite3"
    store = VectorStore(path)
    store.close()
    journal = Journal(journal_directory(path))  # write entries as a store would, but never apply them
    records = [VectorRow(f"v{i}", _vector(i), None, {"i": i}) for i in range(5)]
    journal.append(encode(upsert_of("", RowBatch.of(records))))
    journal.append(encode(Delete("", ["v1", "v3"])))
    journal.append(encode(upsert_of("", RowBatch.of([VectorRow("v1", _vector(9.0))]))))
    journal.append(encode(upsert_of("gone", RowBatch.of(records[:2]))))
    journal.append(encode(DropNamespace("gone")))
    journal.close()

    reopened = VectorStore(path)
    stored = {(namespace, record.id): record for namespace, record in reopened.scan()}
    reopened.close()
    assert sorted(stored) == [("", "v0"), ("", "v1"), ("", "v2"), ("", "v4")]
    assert stored["", "v1"].values.tolist() == [9.0] * 4
    assert stored["", "v1"].metadata is None
    assert stored["", "v4"].metadata == {"i": 4}


def test_listing_sees_writes_the_applier_has_not_reached(tmp_path: Path) -> None:
    store = VectorStore(tmp_path / "idx.sqlite3")
    for start in range(0, 3000, 500):
        batch = RowBatch.dense(
            [f"id{i:05d}" for i in range(start, start + 500)], np.ones((500, 4), np.float32)
        )
        store.upsert("", batch)
    store.delete("", ["id00000"])
    assert store.list_ids("", "id", None, 3) == ["id00001", "id00002", "id00003"]
    assert len(store.list_ids("", "", None, 10_000)) == 2999
    store.close()


def test_a_write_the_journal_refuses_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The rows are staged while the journal writes; if that write fails, none of them become visible,
    nothing reaches SQLite, and the next write goes through."""
    path = tmp_path / "idx.sqlite3"
    index = VectorIndex(IndexConfig("idx", 4, Metric.COSINE), VectorStore(path))
    index.upsert("", [VectorRow("kept", _vector(1.0))])

    def full_disk(self: Journal, parts: object) -> Position:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(Journal, "append", full_disk)
        with pytest.raises(OSError, match="No space"):
            index.upsert("", RowBatch.dense(["lost1", "lost2"], np.ones((2, 4), np.float32)))
    assert index.namespace_counts() == {"": 1}
    assert index.fetch("", ["lost1", "lost2"]) == {}
    index.upsert("", RowBatch.dense(["after"], np.ones((1, 4), np.float32)))
    assert sorted(index.fetch("", ["kept", "after", "lost1"])) == ["after", "kept"]
    assert [m.record.id for m in index.query("", np.ones(4, np.float32), 10)] == ["after", "kept"]
    index.close()
    reopened = VectorStore(path)
    assert sorted(record.id for _, record in reopened.scan()) == ["after", "kept"]
    reopened.close()
