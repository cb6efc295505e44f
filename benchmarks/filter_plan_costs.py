"""What the embedded filtered-query planner weighs: exact scoring of m rows against a graph search for k.

    python benchmarks/filter_plan_costs.py [--vectors 200000] [--queries 50]

One namespace of ``vector_data.py``'s mixture (384 dimensions, cosine) with its ANN graph built; then,
one query at a time, the time to rank ``m`` random rows exactly (``Namespace.search`` within them, as
the exact plan does) and the time to ask the graph for ``k`` candidates and map them to rows (as the
graph plan does before ranking them). ``GRAPH_CANDIDATE_COST`` in ``vectors/filter_plan.py`` is the
ratio of the two per row/candidate. Also times the filter mask over all rows (column-wise) against the
row-by-row predicate it replaced. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import corpus_chunks, queries
from inferhouse.vectors.ann import AnnGraph, AnnSettings
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.namespace import _EMPTY, Namespace
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric

ROWS = (1_000, 10_000, 50_000, 100_000)
CANDIDATES = (100, 1_000, 10_000)


def _per_query(call: object, asked: np.ndarray, repeat: int = 1) -> float:
    started = time.perf_counter()
    for query in asked:
        for _ in range(repeat):
            call(query)  # type: ignore[operator]
    return (time.perf_counter() - started) / (len(asked) * repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=200_000)
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args()
    data = np.concatenate(list(corpus_chunks(args.vectors)))
    asked = queries(args.queries)
    space = Namespace(384)
    ids = [str(i) for i in range(args.vectors)]
    batch = RowBatch.dense(ids, data)
    batch.metadata[:] = [{"bucket": i % 10, "slice": i % 100, "tag": [f"t{i % 7}"]} for i in range(len(ids))]
    space.put(batch)
    graph = AnnGraph(384, Metric.COSINE, AnnSettings())
    started = time.perf_counter()
    keys, vectors = space.unindexed_batch(args.vectors)
    graph.add(keys, vectors)
    space.mark_indexed(keys)
    result: dict[str, object] = {
        "vectors": args.vectors,
        "graph_build_s": round(time.perf_counter() - started),
    }
    rng = np.random.default_rng(0)
    exact = {}
    for m in ROWS:
        rows = np.sort(rng.choice(args.vectors, m, replace=False))
        seconds = _per_query(lambda q, rows=rows: space.search(q, 10, Metric.COSINE, within=rows), asked)
        exact[m] = {"ms": round(seconds * 1e3, 3), "us_per_row": round(seconds * 1e6 / m, 4)}
    graph_costs = {}
    for k in CANDIDATES:
        seconds = _per_query(lambda q, k=k: space.rows_of_keys(graph.search(q, k)), asked)
        graph_costs[k] = {"ms": round(seconds * 1e3, 3), "us_per_candidate": round(seconds * 1e6 / k, 4)}
    result.update(exact=exact, graph=graph_costs)
    spec = {"$or": [{"bucket": {"$in": [1, 2]}}, {"tag": "t3"}], "slice": {"$lt": 50}}
    keep = compile_filter(spec)
    columns = _per_query(lambda _q: space.matching_rows(keep), asked[:5])
    by_row = _per_query(
        lambda _q: np.fromiter((keep.test(m or _EMPTY) for m in space.metadata), dtype=bool), asked[:2]
    )
    result["mask_ms"] = {"columns": round(columns * 1e3, 2), "row_by_row": round(by_row * 1e3, 1)}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
