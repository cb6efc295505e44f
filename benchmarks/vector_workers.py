"""One system per process, so each one's memory is its own: ``python vector_workers.py SYSTEM N DIR``.

Writes ``DIR/SYSTEM.json``. Peers (chromadb, lancedb) live in benchmarks/vector_peers/ and run in their
own virtual environments; this file runs inferhouse and exact numpy search.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from benchmarks.vector_data import DIMENSION, corpus_chunks, queries

BATCH = 1000
# ``--upsert-only`` as a fourth argument: measure the upsert phase alone (for repeated, interleaved rounds).
UPSERT_ONLY = sys.argv[4:5] == ["--upsert-only"]


def batches(n: int) -> Iterator[tuple[int, np.ndarray]]:
    """(first id, rows) for each batch of 1000. Generating the data happens between timed calls, so no
    system's upsert rate pays for it."""
    offset = 0
    for chunk in corpus_chunks(n):
        for start in range(0, len(chunk), BATCH):
            yield offset + start, chunk[start : start + BATCH]
        offset += len(chunk)


def rss_bytes() -> int:
    """Resident memory after handing freed heap back to the OS, so the figure is what the index holds."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def recall(found: list[list[int]], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


def run_inferhouse(n: int, workdir: Path, query_set: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    from inferhouse.vectors.ann import AnnSettings
    from inferhouse.vectors.index import IndexConfig, VectorIndex
    from inferhouse.vectors.rows import RowBatch
    from inferhouse.vectors.scoring import Metric
    from inferhouse.vectors.store import VectorStore

    before = rss_bytes()
    index = VectorIndex(
        IndexConfig("bench", DIMENSION, Metric.COSINE), VectorStore(workdir / "bench.sqlite3"), AnnSettings()
    )
    upsert_s = 0.0
    for first, rows in batches(n):
        started = time.perf_counter()
        index.upsert("", RowBatch.dense([str(first + i) for i in range(len(rows))], rows))
        upsert_s += time.perf_counter() - started
    started = time.perf_counter()
    index.store.settle()  # acknowledged writes are durable in the journal; this is SQLite catching up
    settle_s = time.perf_counter() - started
    if UPSERT_ONLY:
        index.close()
        return {"upsert_per_s": n / upsert_s, "store_settle_s": settle_s}
    started = time.perf_counter()
    while index.maintain(chunk=10_000):
        pass
    graph_s = time.perf_counter() - started
    found: list[list[int]] = []
    started = time.perf_counter()
    for query in query_set:
        found.append([int(m.record.id) for m in index.query("", query, 10)])
    query_s = time.perf_counter() - started
    return {
        "upsert_per_s": n / upsert_s,
        "store_settle_s": settle_s,
        "graph_build_s": graph_s,
        "queries_per_s": len(query_set) / query_s,
        "recall_at_10": recall(found, truth),
        "memory_bytes": rss_bytes() - before,
    }


def run_numpy(n: int, workdir: Path, query_set: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    before = rss_bytes()
    matrix = np.concatenate(list(corpus_chunks(n)))
    found: list[list[int]] = []
    started = time.perf_counter()
    for query in query_set:
        scores = matrix @ query
        top = np.argpartition(-scores, 10)[:10]
        found.append(top[np.argsort(-scores[top])].tolist())
    query_s = time.perf_counter() - started
    return {
        "queries_per_s": len(query_set) / query_s,
        "recall_at_10": recall(found, truth),
        "memory_bytes": rss_bytes() - before,
    }


SYSTEMS = {"inferhouse": run_inferhouse, "numpy": run_numpy}


def main() -> None:
    system, n, directory = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    truth = np.load(directory / "truth.npy")
    query_set = queries(len(truth))
    with tempfile.TemporaryDirectory(dir=directory) as workdir:
        result = SYSTEMS[system](n, Path(workdir), query_set, truth)
    (directory / f"{system}.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
