"""The namespaces API's writes on the embedded backend: each is one journal entry that round-trips, lands
in SQLite, and is there after the index is opened again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inferhouse.errors import AlreadyExists, NotFound
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.operations import DeclareNamespace, ForgetNamespace, SetMetadata, decode, encode
from inferhouse.vectors.rows import VectorRow
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore


@pytest.mark.parametrize(
    "operation",
    [
        DeclareNamespace("ns ü", {"fields": {"genre": {"filterable": True}}}),
        DeclareNamespace("", None),
        ForgetNamespace("gone"),
        SetMetadata("films", ["a", 'b"\0c', "😀"], {"seen": True, "tags": ["x"], "n": 1.5}),
    ],
)
def test_each_entry_round_trips(operation: object) -> None:
    parts = encode(operation)  # type: ignore[arg-type]
    assert decode(b"".join(bytes(part) for part in parts)) == operation


def _open(path: Path) -> VectorIndex:
    return VectorIndex(IndexConfig("films", 2, Metric.COSINE), VectorStore(path))


def _row(vector_id: str, genre: str) -> VectorRow:
    return VectorRow(vector_id, np.array([1.0, 0.5], dtype=np.float32), None, {"genre": genre, "n": 1})


def test_created_namespaces_and_updates_by_filter_outlive_the_process(tmp_path: Path) -> None:
    path = tmp_path / "films.sqlite3"
    index = _open(path)
    index.create_namespace("empty", {"fields": {"genre": {"filterable": True}}})
    index.create_namespace("plain", None)
    with pytest.raises(AlreadyExists):
        index.create_namespace("plain", None)
    rows = [_row("a", "drama"), _row('q"\0', "drama"), _row("c", "noir")]
    index.upsert("films", rows)
    with pytest.raises(AlreadyExists):
        index.create_namespace("films", None)
    drama = compile_filter({"genre": "drama"})
    assert index.update_matching("films", drama, {"seen": True}, dry_run=True) == 2
    assert index.fetch_matching("films", compile_filter({"seen": True}), None, 10) == []
    assert index.update_matching("films", drama, {"seen": True, "n": 2}, dry_run=False) == 2
    index.close()

    index = _open(path)
    try:
        assert index.declared_namespaces() == {
            "empty": {"fields": {"genre": {"filterable": True}}},
            "plain": None,
        }
        found = index.fetch_matching("films", compile_filter({"seen": True}), None, 10)
        assert [(r.id, r.metadata) for r in found] == [
            ("a", {"genre": "drama", "n": 2, "seen": True}),
            ('q"\0', {"genre": "drama", "n": 2, "seen": True}),
        ]
        assert index.fetch("films", ["c"])["c"].metadata == {"genre": "noir", "n": 1}
        assert [r.id for r in index.fetch_matching("films", drama, "a", 10)] == ['q"\0']
        index.delete_namespace("plain")
        index.delete_namespace("films")
        with pytest.raises(NotFound):
            index.delete_namespace("films")
        index.delete_namespace("")  # the default namespace always exists
    finally:
        index.close()
    index = _open(path)
    try:
        assert list(index.declared_namespaces()) == ["empty"]
        assert index.size("films") == 0
    finally:
        index.close()
