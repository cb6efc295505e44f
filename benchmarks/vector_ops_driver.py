"""The measuring loop that every system of ``vector_ops.py`` runs, each in a process of its own.

A system's worker (``vector_ops_inferhouse.py``, ``vector_peers/*_ops.py``) supplies a :class:`System`
and calls :func:`main`; the loop is the same for all, so every system is timed, queried and weighed the
same way. It needs numpy and the standard library only, so it runs in the peers' environments too.

    WORKER load N DIR [--filtered] [--query-seconds S] [--load adds|import]
    WORKER restart N DIR --t0 T --reference QPS [--deadline S]
    WORKER requery N DIR [--query-seconds S]

``load`` creates the system's persisted data in ``DIR/<system>/``, adds the N vectors with their
metadata (timed: the bulk-add rate), lets it finish indexing (timed apart), weighs it, and queries it.
With ``--load import`` a system that has a bulk import (:class:`Importer`) takes the N rows that way
instead, and its import is the timed part. Memory is read from ``/proc/PID/status``: VmRSS and its
parts RssAnon (private memory) and RssFile (file pages mapped in, which the kernel may drop).
``restart`` is a fresh process that opens that data and queries until the rate is the steady one the
load measured (``--reference``), and for TAIL_S more; ``--t0`` is the wall clock just before the
process was started. ``requery`` is a fresh process that opens that data, waits for it to settle, and
times the load's queries again, unfiltered and at each selectivity, with the search settings of its
environment (how wide a search is: ``vector_ops.py --search-widths``).
Results go to ``DIR/<system>.<phase>.json``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import corpus_chunks, queries

Matrix = npt.NDArray[np.float32]
# Selectivity -> metadata field. Each field is drawn uniformly from ``range(levels)`` with a seeded
# generator, independently of the vectors, and every filter keeps the rows whose field is 0.
SELECTIVITIES: dict[str, tuple[str, int]] = {"1%": ("sel1", 100), "10%": ("sel10", 10), "50%": ("sel50", 2)}
METADATA_SEED = 7
WARM_UP_QUERIES = 10
MIN_QUERIES = 20
# Restart: full speed is the first run of WINDOW consecutive queries at FULL_SPEED x the steady rate.
WINDOW = 20
FULL_SPEED = 0.8
TAIL_S = 10.0


def metadata_columns(n: int) -> dict[str, npt.NDArray[np.int16]]:
    rng = np.random.default_rng(METADATA_SEED)
    return {field: rng.integers(0, levels, n).astype(np.int16) for field, levels in SELECTIVITIES.values()}


# /proc/PID/status fields -> our names; VmRSS = RssAnon + RssFile + RssShmem.
MEMORY_FIELDS = {"VmRSS": "rss", "RssAnon": "anon", "RssFile": "file", "RssShmem": "shmem"}
Memory = dict[str, int]


def process_memory(pid: int | str = "self") -> Memory:
    """Resident bytes of a process, in total (``rss``) and by kind (``anon``, ``file``, ``shmem``)."""
    found = dict.fromkeys(MEMORY_FIELDS.values(), 0)
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in MEMORY_FIELDS:
            found[MEMORY_FIELDS[key]] = int(value.split()[0]) * 1024
    return found


def trimmed_memory() -> Memory:
    """This process's memory after handing freed heap back to the OS: an in-process peer's figure must not
    count the benchmark's own garbage (the generated vectors), which a server would never see."""
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    return process_memory()


def per_vector(after: Memory, before: Memory, n: int) -> dict[str, float]:
    return {kind: round((after[kind] - before[kind]) / n, 1) for kind in after}


class System(Protocol):
    name: str
    add_batch: int  # rows per prepared add call

    def settings(self) -> str: ...

    def memory(self) -> Memory:
        """The resident memory of the process that holds the data (``process_memory``)."""
        ...

    def start(self, directory: Path) -> None:
        """Whatever comes before the data (a server process, a client); memory is counted from here."""
        ...

    def create(self) -> None: ...

    def prepare(self, first_id: int, rows: Matrix, metadata: dict[str, npt.NDArray[np.int16]]) -> Any:
        """Turn rows into what the add call takes (not timed)."""
        ...

    def add(self, prepared: Any) -> None: ...

    def finish_load(self) -> dict[str, float]:
        """Index building or waiting for background work to end, after the adds (timed apart)."""
        ...

    def open(self, directory: Path) -> float | None:
        """Open the persisted data (restart); a system that starts a process of its own returns the wall
        clock just before it started it, to time from there instead of from ``--t0``."""
        ...

    def settle(self) -> float:
        """After :meth:`open`, wait for the system's background work on the data (a graph catching up)
        to end; the seconds waited, 0 for a system that has none."""
        ...

    def query(self, vector: Matrix, field: str | None) -> list[int]:
        """Top-10 ids, keeping only rows whose ``field`` is 0 when one is given."""
        ...

    def close(self) -> None: ...


class Importer(System, Protocol):
    """A system that can also load by bulk import (``--load import``)."""

    def bulk_import(self, n: int) -> dict[str, Any]:
        """Import the N rows (the same ids, vectors and metadata the adds would send) into the created
        index; returns at least ``import_s``, the seconds of the import itself."""
        ...


def recall(found: list[list[int]], truth: npt.NDArray[np.int64]) -> float:
    hits = sum(len(set(f) & set(t.tolist())) for f, t in zip(found, truth, strict=False))
    return hits / (10 * len(found)) if found else 0.0


def timed_queries(
    system: System, asked: Matrix, truth: npt.NDArray[np.int64], field: str | None, budget_s: float
) -> dict[str, float]:
    """Queries one at a time until all are asked or the budget is spent (at least MIN_QUERIES)."""
    found: list[list[int]] = []
    started = time.perf_counter()
    for vector in asked:
        found.append(system.query(vector, field))
        if len(found) >= MIN_QUERIES and time.perf_counter() - started > budget_s:
            break
    elapsed = time.perf_counter() - started
    return {
        "queries": len(found),
        "queries_per_s": round(len(found) / elapsed, 2),
        "recall_at_10": round(recall(found, truth), 4),
    }


def add_all(system: System, n: int) -> float:
    """Adds the N rows in the system's batches; the seconds spent in the add calls."""
    columns = metadata_columns(n)
    add_s, first = 0.0, 0
    for chunk in corpus_chunks(n):
        for start in range(0, len(chunk), system.add_batch):
            rows = chunk[start : start + system.add_batch]
            at = first + start
            prepared = system.prepare(at, rows, {k: v[at : at + len(rows)] for k, v in columns.items()})
            began = time.perf_counter()
            system.add(prepared)
            add_s += time.perf_counter() - began
        first += len(chunk)
    return add_s


def load(system: System, args: argparse.Namespace, truths: dict[str, Any], asked: Matrix) -> dict[str, Any]:
    system.start(args.dir / system.name)
    before = system.memory()
    system.create()
    imported: dict[str, Any] = {}
    if args.load == "import":
        if not hasattr(system, "bulk_import"):
            raise SystemExit(f"{system.name} has no bulk import: load it with --load adds")
        imported = cast(Importer, system).bulk_import(args.n)
        add_s = float(imported["import_s"])
    else:
        add_s = add_all(system, args.n)
    began = time.perf_counter()
    extra = system.finish_load()
    finish_s = time.perf_counter() - began
    loaded = system.memory()
    for vector in asked[:WARM_UP_QUERIES]:
        system.query(vector, None)
    out: dict[str, Any] = {
        "settings": system.settings(),
        # "adds": the system's bulk add (inferhouse: the upsert API); "import": its bulk import, and then
        # add_s and adds_per_s are the import's seconds and rate.
        "load_method": args.load,
        **({"import": imported} if imported else {}),
        "add_s": round(add_s, 2),
        "adds_per_s": round(args.n / add_s),
        "finish_load_s": round(finish_s, 2),
        "loaded_per_s": round(args.n / (add_s + finish_s)),
        **extra,
        "rss_before_bytes": before["rss"],
        "rss_loaded_bytes": loaded["rss"],
        "bytes_per_vector": round((loaded["rss"] - before["rss"]) / args.n, 1),
        "memory_before": before,
        "memory_loaded": loaded,
        "unfiltered": timed_queries(system, asked, truths["all"], None, args.query_seconds),
    }
    if args.filtered:
        out["filtered"] = {
            share: timed_queries(system, asked, truths[field], field, args.query_seconds)
            for share, (field, _) in SELECTIVITIES.items()
        }
    queried = system.memory()
    out["rss_queried_bytes"] = queried["rss"]
    out["memory_queried"] = queried
    # Per vector, by kind: resident memory after loading (and after the queries) minus before the index
    # was created, over N.
    out["per_vector"] = {
        "loaded": per_vector(loaded, before, args.n),
        "queried": per_vector(queried, before, args.n),
    }
    return out


def restart(
    system: System, args: argparse.Namespace, truths: dict[str, Any], asked: Matrix
) -> dict[str, Any]:
    """Query from the first moment the data answers until a window runs at FULL_SPEED x the loaded rate,
    then for TAIL_S more; full speed is the first window at FULL_SPEED x the higher of the loaded rate
    and the tail's, so a loaded rate measured in a busy spell of the machine does not flatter it."""
    base = system.memory()
    own_start = system.open(args.dir / system.name)
    origin = own_start if own_start is not None else args.t0
    opened = time.time()
    spans: list[tuple[float, float]] = []
    found: list[list[int]] = []
    reached: float | None = None
    while time.time() - origin < args.deadline:
        vector = asked[len(found) % len(asked)]
        began = time.time()
        found.append(system.query(vector, None))
        spans.append((began, time.time()))
        window_rate = WINDOW / (spans[-1][1] - spans[-WINDOW][0]) if len(spans) >= WINDOW else 0.0
        if reached is None and window_rate >= FULL_SPEED * args.reference:
            reached = spans[-1][1]
        if reached is not None and spans[-1][1] - reached >= TAIL_S:
            break
    tail = [span for span in spans if reached is not None and span[0] >= reached]
    tail_rate = len(tail) / (tail[-1][1] - tail[0][0]) if len(tail) > 1 else 0.0
    wanted = FULL_SPEED * max(args.reference, tail_rate)
    full_speed = next(
        (
            spans[i - WINDOW + 1][0] - origin
            for i in range(WINDOW - 1, len(spans))
            if WINDOW / (spans[i][1] - spans[i - WINDOW + 1][0]) >= wanted
        ),
        None,
    )
    truth = np.concatenate([truths["all"]] * (len(found) // len(asked) + 1))
    after = system.memory()
    return {
        "open_s": round(opened - origin, 2),
        "first_answer_s": round(spans[0][1] - origin, 2) if spans else None,
        "full_speed_s": round(full_speed, 2) if reached is not None and full_speed is not None else None,
        "reference_queries_per_s": args.reference,
        "tail_queries_per_s": round(tail_rate, 2),
        "queries": len(found),
        "recall_at_10": round(recall(found, truth), 4),
        "rss_base_bytes": base["rss"],
        "rss_bytes": after["rss"],
        "memory": after,
    }


def requery(
    system: System, args: argparse.Namespace, truths: dict[str, Any], asked: Matrix
) -> dict[str, Any]:
    """The load's queries again over the opened, settled data: unfiltered and at each selectivity."""
    system.open(args.dir / system.name)
    settle_s = system.settle()
    for vector in asked[:WARM_UP_QUERIES]:
        system.query(vector, None)
    unfiltered = timed_queries(system, asked, truths["all"], None, args.query_seconds)
    filtered = {
        share: timed_queries(system, asked, truths[field], field, args.query_seconds)
        for share, (field, _) in SELECTIVITIES.items()
    }
    return {
        "settings": system.settings(),
        "vectors": args.n,
        "settle_s": round(settle_s, 1),
        "unfiltered": unfiltered,
        "filtered": filtered,
        "memory": system.memory(),
    }


PHASES = {"load": load, "restart": restart, "requery": requery}


def main(system: System, argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("n", type=int)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--filtered", action="store_true")
    parser.add_argument("--query-seconds", type=float, default=60.0)
    parser.add_argument("--t0", type=float, default=0.0)
    parser.add_argument("--reference", type=float, default=0.0)
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--load", choices=["adds", "import"], default="adds")
    args = parser.parse_args(argv)
    truths = dict(np.load(args.dir / "truth.npz"))
    asked = queries(len(truths["all"]))
    try:
        result = PHASES[args.phase](system, args, truths, asked)
    finally:
        system.close()
    (args.dir / f"{system.name}.{args.phase}.json").write_text(json.dumps(result, indent=2) + "\n")
