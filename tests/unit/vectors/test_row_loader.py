"""Loading rows with the numeric half on a worker thread leaves every namespace exactly as putting each
batch in order would: ids, row order, vectors, norms, fingerprints, keys, metadata and its columns."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from inferhouse.vectors.column_filters import filter_mask
from inferhouse.vectors.growable import GrowableMatrix
from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.row_loader import load_rows
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.vector_file import FileVectors

DIMENSION = 6


def _batch(ids: list[str], seed: int) -> RowBatch:
    values = np.random.default_rng(seed).normal(size=(len(ids), DIMENSION)).astype(np.float32)
    metadata = [{"n": index % 7, "tag": f"t{seed % 3}"} for index, _ in enumerate(ids)]
    return RowBatch(ids, values, [None] * len(ids), list(metadata))


def _load_in_order(
    batches: list[tuple[str, RowBatch]], make: Callable[[], Namespace]
) -> dict[str, Namespace]:
    namespaces: dict[str, Namespace] = {}
    for name, batch in batches:
        namespaces.setdefault(name, make()).put(batch)
    return namespaces


def _load_pipelined(
    batches: list[tuple[str, RowBatch]], make: Callable[[], Namespace]
) -> dict[str, Namespace]:
    namespaces: dict[str, Namespace] = {}
    load_rows(batches, lambda name: namespaces.setdefault(name, make()))
    return namespaces


def _assert_same(left: dict[str, Namespace], right: dict[str, Namespace]) -> None:
    assert left.keys() == right.keys()
    for name, expected in left.items():
        got = right[name]
        assert got.ids == expected.ids
        assert got.rows == expected.rows
        assert np.array_equal(got.matrix, expected.matrix)
        assert np.array_equal(got.norms, expected.norms)
        count = len(expected)
        assert np.array_equal(got._prints[:count], expected._prints[:count])
        assert np.array_equal(got._keys[:count], expected._keys[:count])
        assert sorted(got.unindexed) == sorted(expected.unindexed)
        assert [got.metadata_at(row) for row in range(count)] == [
            expected.metadata_at(row) for row in range(count)
        ]
        for spec in ({"n": {"$gte": 3}}, {"tag": "t1"}):
            assert np.array_equal(filter_mask(got.columns, spec), filter_mask(expected.columns, spec))


@pytest.fixture
def opened() -> Iterator[list[Namespace]]:
    """Every namespace a test makes, closed after it (a file of vectors holds a descriptor)."""
    made: list[Namespace] = []
    yield made
    for namespace in made:
        namespace.close()


def _namespaces(tmp_path: Path, opened: list[Namespace]) -> list[Callable[[], Namespace]]:
    in_file = functools.partial(FileVectors, directory=tmp_path)

    def kept(namespace: Namespace) -> Namespace:
        opened.append(namespace)
        return namespace

    return [lambda: kept(Namespace(DIMENSION)), lambda: kept(Namespace(DIMENSION, in_file))]


@pytest.mark.parametrize("kind", [0, 1], ids=["in memory", "in a file"])
def test_many_batches_across_namespaces_and_growths(
    tmp_path: Path, opened: list[Namespace], kind: int
) -> None:
    batches: list[tuple[str, RowBatch]] = []
    for seed in range(40):  # uneven sizes across two namespaces: the matrices grow many times mid-load
        name = "a" if seed % 3 else "b"
        size = 1 + (seed * 37) % 300
        batches.append((name, _batch([f"{name}-{seed}-{i}" for i in range(size)], seed)))
    make = _namespaces(tmp_path, opened)[kind]
    _assert_same(_load_in_order(batches, make), _load_pipelined(batches, make))


def test_ids_repeated_within_and_across_batches_end_as_the_last_write(
    tmp_path: Path, opened: list[Namespace]
) -> None:
    batches = [
        ("", _batch(["a", "b", "c"], 1)),
        ("", _batch(["d", "a", "e"], 2)),  # repeats an id of the batch still in flight before it
        ("", _batch(["f", "f", "g"], 3)),  # repeats an id inside itself
        ("", _batch(["h", "i"], 4)),  # staged while the two before it take the ordinary path
        ("", _batch([], 5)),
        ("", _batch(["j"], 6)),
    ]
    for make in _namespaces(tmp_path, opened):
        in_order, pipelined = _load_in_order(batches, make), _load_pipelined(batches, make)
        _assert_same(in_order, pipelined)
        assert pipelined[""].ids == ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]


def test_the_numbers_are_written_on_another_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    threads: set[str] = set()
    original = Namespace.write_rows

    def recording(self: Namespace, start: int, values: np.ndarray) -> range:
        threads.add(threading.current_thread().name)
        return original(self, start, values)

    monkeypatch.setattr(Namespace, "write_rows", recording)
    namespaces = _load_pipelined([("", _batch([str(i) for i in range(50)], 0))], lambda: Namespace(DIMENSION))
    assert len(namespaces[""]) == 50
    assert threads
    assert threading.current_thread().name not in threads


def test_an_error_on_the_worker_reaches_the_caller() -> None:
    wrong = RowBatch(["x"], np.zeros((1, DIMENSION + 1), dtype=np.float32), [None], [None])
    with pytest.raises(ValueError, match="broadcast"):
        _load_pipelined([("", _batch(["a"], 0)), ("", wrong)], lambda: Namespace(DIMENSION))


def test_a_write_populates_its_pages() -> None:
    matrix = GrowableMatrix(DIMENSION, capacity=100_000)
    block = np.ones((50_000, DIMENSION), dtype=np.float32)
    matrix.write(10_000, block)
    assert matrix._populated_bytes >= 60_000 * DIMENSION * 4  # the watermark is the point
    assert float(matrix.array[10_000:60_000].sum()) == 50_000 * DIMENSION
    assert float(matrix.array[:10_000].sum()) == 0.0
