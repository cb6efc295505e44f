"""Scoring chosen rows a block at a time: how many rows to gather per block, over a persisted index.

    python benchmarks/gather_blocks.py DIR [--name ops] [--blocks 8192,1024] [--rounds 8] [--out FILE]

``DIR`` is a data directory ``vector_ops.py --workdir W`` left (``W/inferhouse``). The index is opened in
this process and ``vector_data.py``'s 200 queries are asked with the filter ``sel1 == 0`` (1% of the
rows, which the planner scores exactly: every matching row is gathered from memory and scored), once per
value of ``_GATHERED_AT_ONCE`` (``vectors/namespace.py``) per round, the values alternating so a drift
in the machine's speed touches each alike. Milliseconds a query, in-process, per round.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.persisted_index import open_index, profile_parser, store_path
from benchmarks.vector_data import queries
from inferhouse.vectors import namespace
from inferhouse.vectors.filters import compile_filter


def main() -> None:
    parser = profile_parser(__doc__, "gather_blocks.json")
    parser.add_argument("--blocks", default="8192,1024")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    blocks = [int(value) for value in args.blocks.split(",")]
    index = open_index(store_path(args.dir, args.name), args.name)
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
