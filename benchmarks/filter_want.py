"""The filtered-query planner end to end over a persisted index: recall and time by ``want`` and share.

    python benchmarks/filter_want.py DIR [--name ops] [--want-shares 0.3,0.2] [--queries 200]
                                         [--out FILE]

``DIR`` is a data directory ``vector_ops.py --workdir W`` left (``W/inferhouse``): an index of
``vector_data.py``'s mixture with the integer fields ``sel1`` (0-99), ``sel10`` (0-9) and ``sel50``
(0-1). The index is opened in this process; filters on those fields keep 1% to 50% of its rows. For each
value of ``FILTERED_WANT_SHARE`` (``vectors/filter_plan.py``: the share of an unfiltered query's
candidates a filtered one wants among its matches, never below twice top_k) and each filter,
``vector_data.py``'s queries go through ``VectorIndex.query`` (the planner picks the plan as in the
server) and are held against the exact filtered top 10 (every matching row ranked). Reports recall@10
and milliseconds per query, in-process (no HTTP). Values alternate per filter, so a drift in the
machine's speed touches each alike.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.persisted_index import open_index, profile_parser, store_path
from benchmarks.vector_data import queries
from inferhouse.vectors import filter_plan
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.scoring import Metric

FILTERS: dict[str, dict[str, Any]] = {
    "1%": {"sel1": 0},
    "2%": {"sel1": {"$lt": 2}},
    "3%": {"sel1": {"$lt": 3}},
    "5%": {"sel1": {"$lt": 5}},
    "10%": {"sel10": 0},
    "30%": {"sel10": {"$in": [0, 1, 2]}},
    "50%": {"sel50": 0},
}
TOP_K = 10


def main() -> None:
    parser = profile_parser(__doc__, "filter_want.json")
    parser.add_argument("--want-shares", default="0.3,0.2")
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    shares = [float(value) for value in args.want_shares.split(",")]
    index = open_index(store_path(args.dir, args.name), args.name)
    namespace = index._namespaces[""]  # the exact answers rank every matching row
    asked = queries(args.queries)
    results: dict[str, dict[str, Any]] = {}
    for label, spec in FILTERS.items():
        keep = compile_filter(spec)
        matching = np.flatnonzero(namespace.matching_rows(keep))
        exact = [
            {hit.row for hit in namespace.search(query, TOP_K, Metric.COSINE, within=matching)}
            for query in asked
        ]
        results[label] = {"matching_rows": len(matching)}
        for share in shares:
            filter_plan.FILTERED_WANT_SHARE = share
            found = 0
            began = time.perf_counter()
            for query, expected in zip(asked, exact, strict=True):
                matches = index.query("", query, TOP_K, keep)
                found += len({namespace.rows[match.record.id] for match in matches} & expected)
            spent_ms = (time.perf_counter() - began) / len(asked) * 1000
            results[label][str(share)] = {
                "recall_at_10": round(found / (TOP_K * len(asked)), 4),
                "ms_per_query": round(spent_ms, 3),
            }
    index.close()
    record = {"directory": str(args.dir), "rows": len(namespace), "queries": len(asked), "filters": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    header = " | ".join(f"want share {share}: recall, ms" for share in shares)
    print(f"| keeps | rows | {header} |\n|---|---|" + "---|" * len(shares))
    for label, found_by in results.items():
        cells = " | ".join(
            f"{found_by[str(s)]['recall_at_10']:.4f}, {found_by[str(s)]['ms_per_query']:.2f}" for s in shares
        )
        print(f"| {label} | {found_by['matching_rows']:,} | {cells} |")


if __name__ == "__main__":
    main()
