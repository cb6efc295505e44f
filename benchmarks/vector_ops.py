"""Vector index operations side by side: filtered search, restart, import and memory, against offline peers.

    python benchmarks/vector_ops.py [--vectors 1000000] [--systems inferhouse,inferhouse-binary,lancedb]
                                    [--load adds|import] [--phases query,restart,import]
                                    [--queries 200] [--query-seconds 60]

Systems (``--systems``, comma-separated; ``--peers P`` is ``--systems inferhouse,P``): ``inferhouse``,
``inferhouse-int8`` and ``inferhouse-binary`` (the same server and worker, the index created with
``tags={"inferhouse-quantization": "int8" | "binary"}``), and the peers ``chromadb``, ``lancedb``,
``qdrant``. Every system gets the same N x 384 vectors (``vector_data.py``'s seeded mixture) with the
same metadata: three integer fields drawn with a seeded generator, ``sel1`` uniform over 0-99, ``sel10``
over 0-9, ``sel50`` over 0-1, and filters ``field == 0`` in each system's own syntax keep 1%, 10% and
50% of the rows. Each system runs in processes of its own (``vector_ops_driver.py`` is the common loop):
inferhouse as a real ``inferhouse serve`` driven by the ``pinecone`` client over HTTP
(``vector_ops_inferhouse.py``), the peers embedded in their own pinned environments
(``vector_peer_envs.py``, ``vector_peers/*_ops.py``). Phases, per system:

- **load** (always): bulk add of all N with metadata (inferhouse: the upsert API, batches of 500; with
  ``--load import``, inferhouse systems take Pinecone's Parquet layout through ``start_import`` instead,
  and the load rate is the import's, labelled so; the files are deleted once imported), the time to
  finish indexing after it, memory per vector, and unfiltered queries/s and recall@10, the reference
  rate for ``restart``;
- **query**: filtered queries/s and recall@10 at each selectivity, against the exact filtered answer;
- **restart**: a fresh process opens the persisted data and queries; time from process start to the
  first answer, and to the first ``WINDOW`` queries in a row at 0.8x the loaded rate;
- **search widths** (``--search-widths 400,800``): for inferhouse systems, a fresh server over the
  loaded data for each graph search width (``INFERHOUSE_ANN_SEARCH_WIDTH``), once idle, times the
  load's queries again, unfiltered and filtered: recall against speed at one size. ``--lancedb-probes
  400,800`` does the same for lancedb with that many IVF partitions probed, to compare at equal recall;
- **import**: inferhouse's bulk import (``start_import`` of Pinecone's Parquet layout) into a fresh
  server, for each inferhouse system loaded by upserts (with ``--load import`` the load is the import),
  skipped with a message where the server has no such route. The peers' import rate is their bulk add.

Memory is read from ``/proc/PID/status`` (the server's for inferhouse; the peer's own process, after
``gc`` and ``malloc_trim``), before the index is created, after loading and indexing, and after the
queries: VmRSS and its two parts that matter here, RssAnon and RssFile. RssAnon is private memory
(graphs, ids, metadata, heaps): it cannot be dropped without swap, so it bounds how many vectors fit.
RssFile is file pages mapped into the process (a peer that maps its data files). A quantized
inferhouse index keeps its float32 rows in an unlinked file read with ``preadv`` (never mapped) to
rescore the graph's candidates: they live in the page cache, outside its RSS, as clean pages the kernel
drops under memory pressure (a query then reads its candidates' rows back from disk). The report
gives bytes per vector by RSS and by RssAnon side by side, and the capacity of 24 GiB by each.

At 10M vectors the upsert API (about 7,000 vectors/s, 24 minutes) is the slow part: load with ``--load
import``. No process of the benchmark holds the corpus: the vectors are generated in chunks of 100,000
for the exact answers (brute force, merged chunk by chunk), for each load and for the Parquet files, so
each needs about 1 GiB whatever N. The Parquet files take about 1.6 KB a vector of disk (16 GB at 10M)
until the import has read them; the server's data takes about as much again in SQLite, plus the graph,
plus, while a quantized index is open, its unlinked file of float32 rows (1.5 KB a vector).

``--workdir DIR`` keeps every system's data; ``--reuse`` then skips the load (and the exact answers)
of a system whose data and ``SYSTEM.load.json`` are in DIR, so more phases can run over a load that
took hours.

Queries are one at a time, top 10, ``--queries`` of them per kind, or fewer where a kind takes more
than ``--query-seconds`` (at least 20). Results: ``--out`` (default ``results/vector_ops.json``), with
the wall time of every phase of every system, to size a larger run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import DIMENSION, corpus_chunks, queries
from benchmarks.vector_ops_driver import SELECTIVITIES, metadata_columns
from benchmarks.vector_ops_report import report
from benchmarks.vector_peer_envs import PARQUET_PEER, peer_python

HERE = Path(__file__).resolve().parent
# inferhouse's systems -> the quantization their index is created with.
INFERHOUSE = {"inferhouse": "none", "inferhouse-int8": "int8", "inferhouse-binary": "binary"}
PEERS = ("chromadb", "lancedb", "qdrant")
DEFAULT_SYSTEMS = ("inferhouse", *PEERS)


def exact_truths(n: int, asked: npt.NDArray[np.float32]) -> dict[str, npt.NDArray[np.int64]]:
    """Each query's 10 nearest ids, unfiltered and within each filter, by brute force over chunks."""
    columns = metadata_columns(n)
    masks: dict[str, npt.NDArray[np.bool_] | None] = {"all": None}
    masks.update({field: columns[field] == 0 for field, _ in SELECTIVITIES.values()})
    best = {
        name: (np.full((len(asked), 10), -np.inf, np.float32), np.zeros((len(asked), 10), np.int64))
        for name in masks
    }
    first = 0
    for chunk in corpus_chunks(n):
        scores = asked @ chunk.T
        for name, mask in masks.items():
            kept = scores if mask is None else np.where(mask[first : first + len(chunk)], scores, -np.inf)
            top = np.argpartition(-kept, 10, axis=1)[:, :10]
            merged_scores = np.concatenate([best[name][0], np.take_along_axis(kept, top, 1)], axis=1)
            merged_ids = np.concatenate([best[name][1], top + first], axis=1)
            order = np.argsort(-merged_scores, axis=1)[:, :10]
            best[name] = (
                np.take_along_axis(merged_scores, order, 1),
                np.take_along_axis(merged_ids, order, 1),
            )
        first += len(chunk)
    return {name: ids for name, (_, ids) in best.items()}


def worker(system: str) -> list[str]:
    """The command that runs a system's worker; its phase and options follow."""
    if system in INFERHOUSE:
        return [sys.executable, str(HERE / "vector_ops_inferhouse.py")]
    return [str(peer_python(system)), str(HERE / "vector_peers" / f"{system}_ops.py")]


def parquet_python() -> Path:
    """inferhouse's own Python where it has pyarrow, else the pinned peer environment that does."""
    probe = subprocess.run([sys.executable, "-c", "import pyarrow"], capture_output=True)
    return Path(sys.executable) if probe.returncode == 0 else peer_python(PARQUET_PEER)


def run_phase(
    command: list[str], directory: Path, result_file: str, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], float]:
    print("$", " ".join([*(f"{name}={value}" for name, value in (env or {}).items()), *command]), flush=True)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    subprocess.run(command, check=True, env={**os.environ, **(env or {})})
    wall = round(time.perf_counter() - began, 1)
    result: dict[str, Any] = json.loads((directory / result_file).read_text())
    # The machine's 1-minute load average around the phase: on a shared machine it says how far to trust it.
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"  {wall} s: {json.dumps(result)}", flush=True)
    return result, wall


def search_sweep(system: str, args: argparse.Namespace) -> tuple[list[int], str]:
    """The search widths to requery a system's data with, and the setting that carries them."""
    if system in INFERHOUSE:
        return args.search_widths, "INFERHOUSE_ANN_SEARCH_WIDTH"
    if system == "lancedb":
        return args.lancedb_probes, "VECTOR_OPS_LANCEDB_NPROBES"
    return [], ""


def run_system(system: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    base = worker(system)
    # Options only inferhouse's worker takes, after the phase's own.
    own = (
        ["--quantization", INFERHOUSE[system], "--parquet-python", str(args.parquet_python)]
        if system in INFERHOUSE
        else []
    )
    imports = system in INFERHOUSE and args.load == "import"
    record: dict[str, Any] = {"phase_wall_s": {}}
    load_args = ["--query-seconds", str(args.query_seconds)] + (
        ["--filtered"] if "query" in args.phases else []
    )
    load_args += ["--load", "import"] if imports else []
    loaded = directory / f"{system}.load.json"
    if args.reuse and loaded.exists() and (directory / system).is_dir():
        print(f"{system}: reusing the data and load results in {directory}", flush=True)
        record["load"] = json.loads(loaded.read_text())
    else:
        record["load"], record["phase_wall_s"]["load"] = run_phase(
            [*base, "load", str(args.vectors), str(directory), *load_args, *own], directory, loaded.name
        )
    if "restart" in args.phases:
        reference = record["load"]["unfiltered"]["queries_per_s"]
        deadline = args.restart_deadline or 120 + args.vectors / 1000
        t0 = time.time()  # just before the fresh process starts: the restart is timed from here
        record["restart"], record["phase_wall_s"]["restart"] = run_phase(
            [
                *base,
                "restart",
                str(args.vectors),
                str(directory),
                "--t0",
                repr(t0),
                "--reference",
                str(reference),
                "--deadline",
                str(deadline),
                *own,
            ],
            directory,
            f"{system}.restart.json",
        )
    # How wide a query searches is a setting of the process that answers: each width is a fresh process
    # over the same data (inferhouse: graph nodes in view; lancedb: IVF partitions probed).
    widths, variable = search_sweep(system, args)
    for width in widths:
        requery = [
            *base,
            "requery",
            str(args.vectors),
            str(directory),
            "--query-seconds",
            str(args.query_seconds),
        ]
        result, wall = run_phase(
            [*requery, *own], directory, f"{system}.requery.json", {variable: str(width)}
        )
        record.setdefault("search_widths", {})[str(width)] = result
        record["phase_wall_s"][f"search width {width}"] = wall
    if imports and "import" in args.phases:
        print(f"{system}: no separate import phase, the load was the bulk import", flush=True)
    elif system in INFERHOUSE and "import" in args.phases:
        record["import"], record["phase_wall_s"]["import"] = run_phase(
            [*base, "import", str(args.vectors), str(directory), *own],
            directory,
            f"{system}.import.json",
        )
    if args.workdir is None:
        for leftover in (system, f"{system}-import", f"{system}-parquet"):
            shutil.rmtree(directory / leftover, ignore_errors=True)
    return record


def chosen_systems(args: argparse.Namespace) -> list[str]:
    if args.peers is not None and args.systems is not None:
        raise SystemExit("give --systems or --peers, not both")
    if args.peers is not None:
        listed = ["inferhouse", *args.peers.split(",")]
    else:
        listed = (args.systems or ",".join(DEFAULT_SYSTEMS)).split(",")
    systems = list(dict.fromkeys(name for name in listed if name))
    unknown = [name for name in systems if name not in INFERHOUSE and name not in PEERS]
    if unknown or not systems:
        raise SystemExit(f"unknown systems {unknown}; choose from {', '.join([*INFERHOUSE, *PEERS])}")
    return systems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument(
        "--systems",
        default=None,
        help=f"comma-separated from {', '.join([*INFERHOUSE, *PEERS])}; default {','.join(DEFAULT_SYSTEMS)}",
    )
    parser.add_argument(
        "--peers", default=None, help="comma-separated: the same as --systems inferhouse,PEERS"
    )
    parser.add_argument(
        "--load",
        choices=["adds", "import"],
        default="adds",
        help="how inferhouse systems load: the upsert API (adds) or a bulk import of Parquet; peers bulk add",
    )
    parser.add_argument("--phases", default="query,restart,import", help="besides load, which always runs")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--query-seconds", type=float, default=60.0)
    parser.add_argument(
        "--restart-deadline", type=float, default=0.0, help="default 120 s + 1 s per 1,000 vectors"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=None,
        help="keep every system's data here (default: a temporary directory)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir: a system whose data and load results are there skips its load",
    )
    parser.add_argument(
        "--search-widths",
        type=lambda text: [int(width) for width in text.split(",") if width],
        default=[],
        help="comma-separated: after the other phases, requery inferhouse data with each graph search width",
    )
    parser.add_argument(
        "--lancedb-probes",
        type=lambda text: [int(probes) for probes in text.split(",") if probes],
        default=[],
        help="comma-separated: after the other phases, requery lancedb's data probing this many partitions",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "vector_ops.json")
    args = parser.parse_args()
    if args.reuse and args.workdir is None:
        raise SystemExit("--reuse needs --workdir")
    args.phases = {p for p in args.phases.split(",") if p}
    systems = chosen_systems(args)
    for peer in (system for system in systems if system in PEERS):
        peer_python(peer)  # environments first, so no system's phase shares the CPU with an install
    uses_parquet = args.load == "import" or "import" in args.phases
    args.parquet_python = (
        parquet_python() if uses_parquet and set(systems) & set(INFERHOUSE) else sys.executable
    )
    record: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "vectors": args.vectors,
        "dimension": DIMENSION,
        "queries": args.queries,
        "systems": systems,
        "load": args.load,
        "phases": sorted(args.phases),
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="vector-ops-") as tmp:
        directory = args.workdir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        truth = directory / "truth.npz"
        if not (args.reuse and truth.exists()):
            np.savez(truth, **exact_truths(args.vectors, queries(args.queries)))
            record["truth_s"] = round(time.perf_counter() - began, 1)
        for system in systems:
            record["results"][system] = run_system(system, args, directory)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(record, indent=2) + "\n")
    print("\n" + report(record["results"], args.vectors))


if __name__ == "__main__":
    main()
