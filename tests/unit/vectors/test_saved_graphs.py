"""Saved ANN graphs: a restart loads the graph and checks it against the rows instead of rebuilding it."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.graph_files import GraphFiles, SavedKeys, graphs_directory
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

DIM = 16
SETTINGS = AnnSettings(min_vectors=200, candidates=40)


def _open(path: Path, metric: Metric = Metric.COSINE) -> VectorIndex:
    return VectorIndex(IndexConfig("saved", DIM, metric), VectorStore(path), SETTINGS)


def _fill(index: VectorIndex, vectors: np.ndarray, first: int = 0, namespace: str = "") -> None:
    ids = [f"v{i}" for i in range(first, first + len(vectors))]
    index.upsert(namespace, RowBatch(ids, vectors, [None] * len(ids), [None] * len(ids)))


def _drain(index: VectorIndex) -> None:
    while index.maintain(256):
        pass


def _crash(index: VectorIndex) -> None:
    """Close the rows as a kill would leave them (the journal is durable) without saving any graph."""
    index.store.close()


def _exact_ids(index: VectorIndex, query: np.ndarray, k: int, namespace: str = "") -> list[str]:
    space = index._namespaces[namespace]
    return [space.ids[hit.row] for hit in space.search(query, k, index.config.metric)]


def _answers_exactly(index: VectorIndex, rng: np.random.Generator, namespace: str = "") -> None:
    """Every answer's scores are exact, and the graph finds nearly all of the true top 10."""
    found = 0
    for query in rng.normal(size=(20, DIM)).astype(np.float32):
        got = [match.record.id for match in index.query(namespace, query, 10)]
        found += len(set(got) & set(_exact_ids(index, query, 10, namespace)))
    assert found >= 0.95 * 200


def _write(path: Path, data: bytes) -> list[Path]:
    """A stand-in graph of one segment: ``data`` at ``path``."""
    path.write_bytes(data)
    return [path]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_a_saved_graph_is_loaded_and_needs_no_rebuild(tmp_path: Path, rng: np.random.Generator) -> None:
    index = _open(tmp_path / "i.sqlite3")
    _fill(index, rng.normal(size=(1000, DIM)).astype(np.float32))
    _drain(index)  # catching up ends with a save
    index.close()
    assert (graphs_directory(tmp_path / "i.sqlite3")).is_dir()

    reopened = _open(tmp_path / "i.sqlite3")
    assert len(reopened._graphs[""]) == 1000
    space = reopened._namespaces[""]
    assert not space.unindexed
    assert not space.stale
    assert reopened.maintain() is False  # nothing to add: the graph was not rebuilt
    _answers_exactly(reopened, rng)
    reopened.close()


def test_rows_changed_after_the_save_are_rescored_and_added(tmp_path: Path, rng: np.random.Generator) -> None:
    index = _open(tmp_path / "i.sqlite3")
    vectors = rng.normal(size=(1000, DIM)).astype(np.float32)
    _fill(index, vectors)
    _drain(index)
    # After the save: 100 rows rewritten with new vectors, 50 deleted, 200 added; then a crash.
    _fill(index, rng.normal(size=(100, DIM)).astype(np.float32), first=0)
    index.delete("", [f"v{i}" for i in range(900, 950)])
    _fill(index, rng.normal(size=(200, DIM)).astype(np.float32), first=1000)
    _crash(index)

    reopened = _open(tmp_path / "i.sqlite3")
    space = reopened._namespaces[""]
    assert len(space) == 1150
    unindexed_ids = {space.ids[space.key_rows[key]] for key in space.unindexed}
    assert unindexed_ids == {f"v{i}" for i in [*range(100), *range(1000, 1200)]}
    assert len(space.stale) == 150  # the old keys of the rewritten and the deleted rows
    _answers_exactly(reopened, rng)  # before upkeep: the new rows are scored exactly
    _drain(reopened)
    assert len(reopened._graphs[""]) == 1150
    _answers_exactly(reopened, rng)
    reopened.close()

    # The save at close describes the graph as it now is.
    again = _open(tmp_path / "i.sqlite3")
    assert not again._namespaces[""].unindexed
    assert len(again._graphs[""]) == 1150
    again.close()


def test_a_damaged_or_foreign_graph_is_rebuilt(tmp_path: Path, rng: np.random.Generator) -> None:
    index = _open(tmp_path / "i.sqlite3")
    _fill(index, rng.normal(size=(600, DIM)).astype(np.float32))
    _drain(index)
    index.close()
    directory = graphs_directory(tmp_path / "i.sqlite3")
    graph_file = next(directory.glob("*.usearch"))
    with graph_file.open("r+b") as file:
        file.seek(graph_file.stat().st_size // 2)
        file.write(b"\xff" * 64)
    damaged = _open(tmp_path / "i.sqlite3")
    assert "" not in damaged._graphs
    assert len(damaged._namespaces[""].unindexed) == 600
    _drain(damaged)
    _answers_exactly(damaged, rng)
    damaged.close()

    # A graph saved for another metric is never loaded into this one.
    shutil.copytree(directory, tmp_path / "copy")
    other = _open(tmp_path / "i.sqlite3", Metric.EUCLIDEAN)
    assert "" not in other._graphs
    other.store.close()


def test_each_namespace_has_its_own_graph_and_delete_all_forgets_it(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    index = _open(tmp_path / "i.sqlite3")
    _fill(index, rng.normal(size=(400, DIM)).astype(np.float32), namespace="a")
    _fill(index, rng.normal(size=(300, DIM)).astype(np.float32), namespace="b")
    _drain(index)
    index.delete_all("a")
    index.close()
    reopened = _open(tmp_path / "i.sqlite3")
    assert set(reopened._graphs) == {"b"}
    assert len(reopened._graphs["b"]) == 300
    _answers_exactly(reopened, rng, "b")
    reopened.close()


def test_files_a_save_never_finished_are_ignored_and_cleaned(tmp_path: Path) -> None:
    files = GraphFiles(tmp_path / "graphs")
    saved = SavedKeys(np.arange(3, dtype=np.uint64), ["a", "b", "c"], np.arange(3, dtype=np.uint64))
    files.save("", {"shape": 1}, saved, lambda path: _write(path, b"graph-1"))
    # A later save that died after writing its files but before its manifest.
    (tmp_path / "graphs" / "orphan.2.usearch").write_bytes(b"half")
    (tmp_path / "graphs" / "x.json.tmp").write_bytes(b"{")
    loaded = files.load("", {"shape": 1})
    assert loaded is not None
    assert [path.read_bytes() for path in loaded[0]] == [b"graph-1"]
    assert loaded[1].ids == ["a", "b", "c"]
    files.clean()
    assert sorted(path.suffix for path in (tmp_path / "graphs").iterdir()) == [".json", ".keys", ".usearch"]
    assert files.load("", {"shape": 2}) is None
    loaded[0][0].unlink()
    assert files.load("", {"shape": 1}) is None


def test_queries_go_on_while_a_graph_is_saved(tmp_path: Path, rng: np.random.Generator) -> None:
    """Saving only reads the graph, so it runs beside searches (it takes no lock they wait on)."""
    index = _open(tmp_path / "i.sqlite3")
    _fill(index, rng.normal(size=(3000, DIM)).astype(np.float32))
    _drain(index)
    graph = index._graphs[""]
    stop = threading.Event()
    saves = 0

    def save_again_and_again() -> None:
        nonlocal saves
        while not stop.is_set():
            index._unsaved[""] = 1
            index._save_due_graph(force=True)
            saves += 1

    saver = threading.Thread(target=save_again_and_again)
    saver.start()
    try:
        _answers_exactly(index, rng)
        _answers_exactly(index, rng)
    finally:
        stop.set()
        saver.join()
    assert saves >= 1
    assert len(graph) == 3000
    index.close()
    assert len(_open(tmp_path / "i.sqlite3")._graphs[""]) == 3000
