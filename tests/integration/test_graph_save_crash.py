"""kill -9 in the middle of saving an ANN graph: the next open trusts only a graph that is whole and right.

A child process keeps rewriting rows and saving its graph (the index's own upkeep and save path); the
parent kills it just after a save starts, at a random point inside it, several times over. After each
kill the index must open with every row, answer with exact scores, and any graph it loaded must hold,
for every key it adopted, the vector of that key's current row.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import orjson
import pytest

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.graph_files import graphs_directory
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

DIM = 48
ROWS = 6000
SEGMENT = 2500  # the graph is saved as a file per segment (three or more) and a keys file
SETTINGS = AnnSettings(min_vectors=500, candidates=60, segment_vectors=SEGMENT)

_CHILD = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    import numpy as np

    from inferhouse.vectors import graph_files
    from inferhouse.vectors.ann import AnnSettings
    from inferhouse.vectors.index import IndexConfig, VectorIndex
    from inferhouse.vectors.rows import RowBatch
    from inferhouse.vectors.scoring import Metric
    from inferhouse.vectors.store import VectorStore

    path, dim, rows, seed = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    save = graph_files.GraphFiles.save

    def announced_save(self, *args, **kwargs):
        print("saving", flush=True)
        save(self, *args, **kwargs)
        print("saved", flush=True)

    graph_files.GraphFiles.save = announced_save
    index = VectorIndex(
        IndexConfig("crash", dim, Metric.COSINE),
        VectorStore(path),
        AnnSettings(min_vectors=500, segment_vectors=int(sys.argv[5])),
    )
    rng = np.random.default_rng(seed)
    while True:  # rewrite a tenth of the rows, catch the graph up, which saves it; until killed
        ids = [f"v{i}" for i in rng.choice(rows, rows // 10, replace=False)]
        values = rng.normal(size=(len(ids), dim)).astype(np.float32)
        index.upsert("", RowBatch(ids, values, [None] * len(ids), [None] * len(ids)))
        while index.maintain(512):
            pass
    """
)


def _seed(path: Path) -> None:
    from inferhouse.vectors.rows import RowBatch

    index = VectorIndex(IndexConfig("crash", DIM, Metric.COSINE), VectorStore(path), SETTINGS)
    values = np.random.default_rng(0).normal(size=(ROWS, DIM)).astype(np.float32)
    ids = [f"v{i}" for i in range(ROWS)]
    index.upsert("", RowBatch(ids, values, [None] * ROWS, [None] * ROWS))
    index.close()


def _kill_during_a_save(path: Path, seed: int, delay: float) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), str(DIM), str(ROWS), str(seed), str(SEGMENT)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 120
        saves = 0
        for line in child.stdout:  # let a couple of saves finish, then kill inside the next one
            assert time.monotonic() < deadline, "the child never saved its graph"
            if line.strip() == "saving":
                saves += 1
                if saves >= 3:
                    time.sleep(delay)
                    break
        assert saves >= 3, "the child stopped before saving its graph three times"
    finally:
        child.kill()  # SIGKILL: no close, no save, no flush beyond what was synced
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def _half_saved(path: Path) -> bool:
    """Whether the kill left files of a save that never reached its manifest (it landed mid-save)."""
    directory = graphs_directory(path)
    named = set()
    for manifest in directory.glob("*.json"):
        named.update(entry["name"] for entry in orjson.loads(manifest.read_bytes())["files"].values())
    return any(p.suffix != ".json" and p.name not in named for p in directory.iterdir())


def _check(path: Path, rng: np.random.Generator) -> bool:
    index = VectorIndex(IndexConfig("crash", DIM, Metric.COSINE), VectorStore(path), SETTINGS)
    try:
        space = index._namespaces[""]
        assert len(space) == ROWS
        graph = index._graphs.get("")
        loaded = graph is not None
        if graph is not None:
            assert graph.segments >= 3
            adopted = [key for key in space.key_rows if key not in space.unindexed]
            stored = graph.stored(np.asarray(adopted, dtype=np.uint64))
            rows = space.matrix[[space.key_rows[key] for key in adopted]]
            cosine = np.sum(stored * rows, axis=1) / (
                np.linalg.norm(stored, axis=1) * np.linalg.norm(rows, axis=1)
            )
            assert float(cosine.min()) > 0.98, "a loaded graph holds a key for a vector that is not its row's"
        for query in rng.normal(size=(10, DIM)).astype(np.float32):
            matches = index.query("", query, 10)
            for match in matches:
                row = space.matrix[space.rows[match.record.id]]
                exact = float(row @ query / (np.linalg.norm(row) * np.linalg.norm(query)))
                assert match.score == pytest.approx(exact, abs=1e-5)
        while index.maintain(1024):
            pass
        assert len(index._graphs[""]) == ROWS
        return loaded
    finally:
        index.close()


def test_a_kill_during_a_graph_save_never_leaves_a_wrong_graph_trusted(tmp_path: Path) -> None:
    path = tmp_path / "crash.sqlite3"
    _seed(path)
    rng = np.random.default_rng(1)
    loaded, interrupted = [], []
    for round_number, delay in enumerate((0.0, 0.002, 0.005, 0.01, 0.02)):
        _kill_during_a_save(path, seed=round_number + 10, delay=delay)
        interrupted.append(_half_saved(path))
        loaded.append(_check(path, rng))
    assert any(loaded), "no restart ever found a saved graph to load"
    assert any(interrupted), "no kill landed inside a save"
