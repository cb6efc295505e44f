"""Where a restarted index's open goes: the phases of ``VectorIndex(...)`` over an index on disk.

    python benchmarks/index_open.py DIR [--opens 3] [--name ops] [--out FILE]

``DIR`` is a data directory an inferhouse server wrote (``vector_ops.py --workdir W`` leaves one at
``W/inferhouse``); its index ``--name`` (cosine, 384 dimensions, as ``vector_ops.py`` creates it) is
opened ``--opens`` times in this process, each time timed as a whole and by phase: reading the store
(SQLite rows into batches), writing each batch's vectors, norms and fingerprints (on the loader's worker
thread, beside the main thread's phases), committing the rows into the namespace, filling the metadata
columns, and loading and checking the saved graph. Phases nest (commit includes the columns; rows
includes reading and committing). The first open of a run is the one a restarted server sees (later
opens in the same process find the memory the last one left). To compare two versions of the code, run
each alternately over the same directory: the machine's speed drifts by more than most single changes
move.
"""

from __future__ import annotations

import functools
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.persisted_index import open_index, profile_parser, store_path
from inferhouse.vectors import index as index_module
from inferhouse.vectors import metadata_columns, namespace, store

# (owner, attribute, phase name): what is timed, outermost first.
PHASES: list[tuple[Any, str, str]] = [
    (index_module.VectorIndex, "_load", "rows"),
    (store, "_batch_of", "batches from SQLite rows"),
    (namespace.Namespace, "write_rows", "vectors, norms, prints (worker thread)"),
    (namespace.Namespace, "commit", "commit (ids, keys, metadata)"),
    (metadata_columns.MetadataColumns, "assign", "metadata columns"),
    (index_module.VectorIndex, "_restore_graphs", "saved graph"),
    (namespace.Namespace, "adopt", "graph keys checked against rows"),
]


def _timed(function: Callable[..., Any], spent: dict[str, float], phase: str) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[phase] = spent.get(phase, 0.0) + time.perf_counter() - began

    return wrapper


def main() -> None:
    parser = profile_parser(__doc__, "index_open.json")
    parser.add_argument("--opens", type=int, default=3)
    args = parser.parse_args()
    path = store_path(args.dir, args.name)
    spent: dict[str, float] = {}
    for owner, attribute, phase in PHASES:
        setattr(owner, attribute, _timed(getattr(owner, attribute), spent, phase))
    opens: list[dict[str, float]] = []
    for _ in range(args.opens):
        spent.clear()
        began = time.perf_counter()
        opened = open_index(path, args.name)
        total = time.perf_counter() - began
        rows = sum(opened.size(name) for name in opened)
        opened.close()
        opens.append({"open_s": round(total, 2)} | {phase: round(s, 2) for phase, s in spent.items()})
    record = {"directory": str(args.dir), "rows": rows, "opens": opens}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"{rows:,} rows, {args.opens} opens: median seconds (each open's)\n")
    print("| phase | median s | each open |\n|---|---|---|")
    for key in opens[0]:
        values = [open_[key] for open_ in opens]
        print(f"| {key} | {statistics.median(values):.2f} | {' / '.join(f'{v:.2f}' for v in values)} |")


if __name__ == "__main__":
    main()
