"""Scoring chosen rows a block at a time: how many rows to gather per block, over a persisted index.

    python benchmarks/gather_blocks.py DIR [--name ops] [--blocks 8192,1024] [--rounds 8] [--out FILE]

``DIR`` is a data directory ``vector_ops.py --workdir W`` left (``W/inferhouse``). The index is opened in
this process and ``vector_data.py``'s 200 queries are asked with the filter ``sel1 == 0`` (1% of the
rows, which the planner scores exactly: every matching row is gathered from memory and scored), once per
value of ``_GATHERED_AT_ONCE`` (``vectors/namespace.py``) per round, the values alternating so a drift
in the machine's speed touches each alike. Milliseconds a query, in-process, per round.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import queries
from inferhouse.vectors import namespace
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dir", type=Path)
    parser.add_argument("--name", default="ops")
    parser.add_argument("--blocks", default="8192,1024")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gather_blocks.json")
    args = parser.parse_args()
    blocks = [int(value) for value in args.blocks.split(",")]
    path = args.dir / "indexes" / f"{args.name}.sqlite3"
    if not path.exists():
        raise SystemExit(f"no index at {path}")
    index = VectorIndex(IndexConfig(args.name, 384, Metric.COSINE), VectorStore(path))
    asked = queries(200)
    keep = compile_filter({"sel1": 0})
    spent: dict[int, list[float]] = {block: [] for block in blocks}
    for _ in range(args.rounds):
        for block in blocks:
            namespace._GATHERED_AT_ONCE = block  # the constant is what is measured
            began = time.perf_counter()
            for query in asked:
                index.query("", query, 10, keep)
            spent[block].append(round((time.perf_counter() - began) / len(asked) * 1000, 2))
    rows = sum(index.size(name) for name in index)
    index.close()
    record = {"directory": str(args.dir), "rows": rows, "ms_per_query": spent}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print("| rows gathered per block | median ms a query | each round |\n|---|---|---|")
    for block, times in spent.items():
        print(f"| {block:,} | {statistics.median(times):.2f} | {' / '.join(f'{t:.2f}' for t in times)} |")


if __name__ == "__main__":
    main()
