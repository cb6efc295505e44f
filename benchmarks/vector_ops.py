"""Vector index operations side by side: filtered search, restart, import and memory, against offline peers.

    python benchmarks/vector_ops.py [--vectors 1000000] [--peers chromadb,lancedb,qdrant]
                                    [--phases query,restart,import] [--queries 200] [--query-seconds 60]

Every system gets the same N x 384 vectors (``vector_data.py``'s seeded mixture) with the same metadata:
three integer fields drawn with a seeded generator, ``sel1`` uniform over 0-99, ``sel10`` over 0-9,
``sel50`` over 0-1, and filters ``field == 0`` in each system's own syntax keep 1%, 10% and 50% of the
rows. Each system runs in processes of its own (``vector_ops_driver.py`` is the common loop):
inferhouse as a real ``inferhouse serve`` driven by the ``pinecone`` client over HTTP
(``vector_ops_inferhouse.py``), the peers embedded in their own pinned environments
(``vector_peer_envs.py``, ``vector_peers/*_ops.py``). Phases, per system:

- **load** (always): bulk add of all N with metadata (inferhouse: the upsert API, batches of 500), the
  time to finish indexing after it, resident memory per vector (RSS after loading minus RSS before,
  over N), and unfiltered queries/s and recall@10, the reference rate for ``restart``;
- **query**: filtered queries/s and recall@10 at each selectivity, against the exact filtered answer;
- **restart**: a fresh process opens the persisted data and queries; time from process start to the
  first answer, and to the first ``WINDOW`` queries in a row at 0.8x the loaded rate;
- **import**: inferhouse's bulk import (``start_import`` of Pinecone's Parquet layout), skipped with a
  message where the server has no such route. The peers' import rate is their bulk add in ``load``.

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
from benchmarks.vector_peer_envs import PARQUET_PEER, peer_python

HERE = Path(__file__).resolve().parent
BUDGET_BYTES = 24 * 2**30
PEERS = ("chromadb", "lancedb", "qdrant")


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


def worker(system: str) -> tuple[Path, Path]:
    if system == "inferhouse":
        return Path(sys.executable), HERE / "vector_ops_inferhouse.py"
    return peer_python(system), HERE / "vector_peers" / f"{system}_ops.py"


def parquet_python() -> Path:
    """inferhouse's own Python where it has pyarrow, else the pinned peer environment that does."""
    probe = subprocess.run([sys.executable, "-c", "import pyarrow"], capture_output=True)
    return Path(sys.executable) if probe.returncode == 0 else peer_python(PARQUET_PEER)


def run_phase(command: list[str], directory: Path, result_file: str) -> tuple[dict[str, Any], float]:
    print("$", " ".join(command), flush=True)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    subprocess.run(command, check=True)
    wall = round(time.perf_counter() - began, 1)
    result: dict[str, Any] = json.loads((directory / result_file).read_text())
    # The machine's 1-minute load average around the phase: on a shared machine it says how far to trust it.
    result["load_average"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    print(f"  {wall} s: {json.dumps(result)}", flush=True)
    return result, wall


def run_system(system: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    python, script = worker(system)
    base = [str(python), str(script)]
    record: dict[str, Any] = {"phase_wall_s": {}}
    load_args = ["--query-seconds", str(args.query_seconds)] + (
        ["--filtered"] if "query" in args.phases else []
    )
    record["load"], record["phase_wall_s"]["load"] = run_phase(
        [*base, "load", str(args.vectors), str(directory), *load_args], directory, f"{system}.load.json"
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
            ],
            directory,
            f"{system}.restart.json",
        )
    if system == "inferhouse" and "import" in args.phases:
        record["import"], record["phase_wall_s"]["import"] = run_phase(
            [*base, "import", str(args.vectors), str(directory), "--parquet-python", str(parquet_python())],
            directory,
            "inferhouse.import.json",
        )
    if args.workdir is None:
        for leftover in (system, "inferhouse-import", "import-files"):
            shutil.rmtree(directory / leftover, ignore_errors=True)
    return record


def report(results: dict[str, Any], n: int) -> str:
    lines = [f"{n:,} x {DIMENSION} vectors", ""]
    lines += ["| system | kind | queries/s | recall@10 | queries |", "|---|---|---|---|---|"]
    for system, r in results.items():
        kinds = {"unfiltered": r["load"]["unfiltered"], **r["load"].get("filtered", {})}
        for kind, q in kinds.items():
            rate, found = q["queries_per_s"], q["recall_at_10"]
            lines.append(f"| {system} | {kind} | {rate:,.0f} | {found:.3f} | {q['queries']} |")
    lines += [
        "",
        "| system | bulk add /s | add + indexing /s | bytes/vector | vectors in 24 GiB |",
        "|---|---|---|---|---|",
    ]
    for system, r in results.items():
        load = r["load"]
        per = load["bytes_per_vector"]
        fits = f"{BUDGET_BYTES / per / 1e6:,.1f}M" if per > 0 else "-"
        lines.append(
            f"| {system} | {load['adds_per_s']:,} | {load['loaded_per_s']:,} | {per:,.0f} | {fits} |"
        )
    if any("restart" in r for r in results.values()):
        lines += [
            "",
            "| system | open s | first answer s | full speed s | rss after restart MiB |",
            "|---|---|---|---|---|",
        ]
        for system, r in results.items():
            if "restart" in r:
                s = r["restart"]
                lines.append(
                    f"| {system} | {s['open_s']} | {s['first_answer_s']} | {s['full_speed_s']} | "
                    f"{s['rss_bytes'] / 2**20:,.0f} |"
                )
    if "import" in results.get("inferhouse", {}):
        lines += ["", f"inferhouse bulk import: {json.dumps(results['inferhouse']['import'])}"]
    lines += ["", "| system | " + " | ".join(["load", "restart", "import"]) + " |", "|---|---|---|---|"]
    for system, r in results.items():
        wall = r["phase_wall_s"]
        lines.append(
            f"| {system} | " + " | ".join(str(wall.get(p, "-")) for p in ("load", "restart", "import")) + " |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--peers", default=",".join(PEERS), help="comma-separated; empty for none")
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
    parser.add_argument("--out", type=Path, default=HERE / "results" / "vector_ops.json")
    args = parser.parse_args()
    args.phases = {p for p in args.phases.split(",") if p}
    peers = [p for p in args.peers.split(",") if p]
    for peer in peers:
        peer_python(peer)  # environments first, so no system's phase shares the CPU with an install
    record: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "vectors": args.vectors,
        "dimension": DIMENSION,
        "queries": args.queries,
        "phases": sorted(args.phases),
        "results": {},
    }
    with tempfile.TemporaryDirectory(prefix="vector-ops-") as tmp:
        directory = args.workdir or Path(tmp)
        directory.mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        np.savez(directory / "truth.npz", **exact_truths(args.vectors, queries(args.queries)))
        record["truth_s"] = round(time.perf_counter() - began, 1)
        for system in ["inferhouse", *peers]:
            record["results"][system] = run_system(system, args, directory)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(record, indent=2) + "\n")
    print("\n" + report(record["results"], args.vectors))


if __name__ == "__main__":
    main()
