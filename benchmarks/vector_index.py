"""The vector index against exact numpy search, chromadb and lancedb, side by side in one run.

    python benchmarks/vector_index.py [--n 1000000] [--queries 200] [--peers chromadb,lancedb]

Every system gets the same vectors (see vector_data.py: a seeded mixture standing in for sentence
embeddings, 384 dimensions) and the same held-out queries, each in its own process so that its memory
is its own. Measured: durable upserts per second in batches of 1000, single-query throughput and
recall@10 against exact search, and resident memory of the loaded index against the raw vector bytes.
Peers run from their own virtual environments (``--setup`` creates them in /tmp).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import DIMENSION, corpus_chunks, queries

HERE = Path(__file__).resolve().parent
PEER_ENVS = {"chromadb": Path("/tmp/bench-chromadb"), "lancedb": Path("/tmp/bench-lancedb")}
PEER_PACKAGES = {"chromadb": ["chromadb"], "lancedb": ["lancedb", "pyarrow"]}


def ground_truth(n: int, query_set: np.ndarray, k: int = 10) -> np.ndarray:
    best_scores = np.full((len(query_set), k), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(query_set), k), dtype=np.int64)
    offset = 0
    for chunk in corpus_chunks(n):
        scores = query_set @ chunk.T
        merged_scores = np.concatenate([best_scores, scores], axis=1)
        merged_ids = np.concatenate(
            [best_ids, offset + np.arange(len(chunk))[None, :].repeat(len(query_set), 0)], axis=1
        )
        top = np.argsort(-merged_scores, axis=1)[:, :k]
        best_scores = np.take_along_axis(merged_scores, top, axis=1)
        best_ids = np.take_along_axis(merged_ids, top, axis=1)
        offset += len(chunk)
    return best_ids


def setup_peer(name: str) -> Path:
    env = PEER_ENVS[name]
    python = env / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "numpy", *PEER_PACKAGES[name]], check=True
        )
    return python


def run(system: str, python: Path, script: Path, n: int, directory: Path, *extra: str) -> dict[str, float]:
    print(f"running {system} {' '.join(extra)}...", flush=True)
    subprocess.run([str(python), str(script), system, str(n), str(directory), *extra], check=True)
    result: dict[str, float] = json.loads((directory / f"{system}.json").read_text())
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--peers", default="chromadb,lancedb", help="comma-separated; empty for none")
    parser.add_argument(
        "--upsert-rounds",
        type=int,
        default=3,
        help="upsert-phase runs per system, interleaved, median reported (chromadb, minutes per run, once)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "vector_index.json")
    args = parser.parse_args()
    peers = [p for p in args.peers.split(",") if p]
    raw_bytes = args.n * DIMENSION * 4
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vector-bench-") as tmp:
        directory = Path(tmp)
        query_set = queries(args.queries)
        np.save(directory / "truth.npy", ground_truth(args.n, query_set))
        for system in ("numpy", "inferhouse"):
            results[system] = run(system, Path(sys.executable), HERE / "vector_workers.py", args.n, directory)
        for peer in peers:
            results[peer] = run(
                peer, setup_peer(peer), HERE / "vector_peers" / f"{peer}_worker.py", args.n, directory
            )
        # This machine's upsert rates swing by a quarter from run to run (fresh memory is costly on the
        # VM, and cheaper for whoever runs after a process that freed some), so the upsert phase is
        # repeated, alternating systems, and the median is what the table shows.
        scripts = {"inferhouse": (Path(sys.executable), HERE / "vector_workers.py")}
        if "lancedb" in peers:
            scripts["lancedb"] = (setup_peer("lancedb"), HERE / "vector_peers" / "lancedb_worker.py")
        rounds = {system: [results[system]["upsert_per_s"]] for system in scripts}
        for _ in range(args.upsert_rounds - 1):
            for system, (python, script) in scripts.items():
                rounds[system].append(
                    run(system, python, script, args.n, directory, "--upsert-only")["upsert_per_s"]
                )
        for system, rates in rounds.items():
            results[system]["upsert_rounds"] = rates  # type: ignore[assignment]
            results[system]["upsert_per_s"] = float(np.median(rates))
    exact_qps = results["numpy"]["queries_per_s"]
    print(
        f"\n{args.n:,} x {DIMENSION} vectors ({raw_bytes / 2**30:.2f} GiB raw), "
        f"{args.queries} queries, top 10\n"
    )
    print(
        "| system | upserts/s (batches of 1000, durable) | queries/s | x exact | recall@10 | memory / raw |"
    )
    print("|---|---|---|---|---|---|")
    for system, r in results.items():
        upserts = f"{r['upsert_per_s']:,.0f}" if "upsert_per_s" in r else "-"
        print(
            f"| {system} | {upserts} | {r['queries_per_s']:,.0f} | {r['queries_per_s'] / exact_qps:.1f} | "
            f"{r['recall_at_10']:.3f} | {r['memory_bytes'] / raw_bytes:.2f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {"n": args.n, "dimension": DIMENSION, "queries": args.queries, "results": results}, indent=2
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
