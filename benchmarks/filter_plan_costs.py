"""What the embedded filtered-query planner weighs: exact scoring of m rows against a graph search for k.

    python benchmarks/filter_plan_costs.py [--vectors 200000] [--queries 50] [--share 0.1]
                                           [--wants 20,25,30,50,100]

One namespace of ``vector_data.py``'s mixture (384 dimensions, cosine) with its ANN graph built; then,
one query at a time, the time to rank ``m`` random rows exactly (``Namespace.search`` within them, as
the exact plan does) and the time to ask the graph for ``k`` candidates and map them to rows (as the
graph plan does before ranking them). ``GRAPH_CANDIDATE_COST`` in ``vectors/filter_plan.py`` is the
ratio of the two per row/candidate. Also times the filter mask over all rows (column-wise) against the
row-by-row predicate it replaced. Then the graph plan's depth against its recall: for a filter keeping
``--share`` of the rows (drawn at random), each ``want`` of ``--wants`` asks the graph for ``want /
share`` candidates, keeps the matching ones and ranks them exactly; recall@10 against the exact
filtered answer, and the graph's time per query (``want`` in ``vectors/filter_plan.py`` is chosen from
this). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import math
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
    parser.add_argument("--share", type=float, default=0.1)
    parser.add_argument("--wants", default="20,25,30,50,100")
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
    for m in [m for m in ROWS if m <= args.vectors]:
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
        lambda _q: np.fromiter(
            (keep.test(space.metadata_at(row) or _EMPTY) for row in range(len(space))), dtype=bool
        ),
        asked[:2],
    )
    result["mask_ms"] = {"columns": round(columns * 1e3, 2), "row_by_row": round(by_row * 1e3, 1)}
    kept = np.flatnonzero(rng.random(args.vectors) < args.share)
    truths = [{hit.row for hit in space.search(q, 10, Metric.COSINE, within=kept)} for q in asked]
    mask = np.zeros(args.vectors, dtype=bool)
    mask[kept] = True
    depths = {}
    for want in [int(w) for w in args.wants.split(",")]:
        count = math.ceil(want / args.share)
        searched = 0.0
        found = 0
        for query, truth in zip(asked, truths, strict=True):
            started = time.perf_counter()
            rows = space.rows_of_keys(graph.search(query, count))
            searched += time.perf_counter() - started
            rows = rows[mask[rows]]
            found += len(truth & {hit.row for hit in space.search(query, 10, Metric.COSINE, within=rows)})
        depths[want] = {
            "graph_asked_for": count,
            "graph_ms": round(searched * 1e3 / len(asked), 3),
            "recall_at_10": round(found / (10 * len(asked)), 4),
        }
    result["graph_depth"] = {"share": args.share, "by_want": depths}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
