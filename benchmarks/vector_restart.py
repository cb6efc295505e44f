"""How long a restarted embedded index takes to answer at full speed: with its saved graph, and without.

    python benchmarks/vector_restart.py [--vectors 1000000] [--dir DIR] [--queries 200] [--restarts 3]

One run, side by side: the index is built once (upserts, then its graph), closed (which saves the graph),
then opened again in fresh processes, ``--restarts`` times each way, alternating:

- **saved graph**: the shipped path; the process loads the rows and the saved graph and checks one
  against the other;
- **no saved graph**: the graph files are moved aside first, as every restart was before graphs were
  saved: the rows load, queries are answered exactly (slowly) until the graph is rebuilt, which takes
  as long as the build phase.

For each restart: seconds from process start to the index being open, to its first answer, and the
queries/s and recall@10 of the first ``--queries`` queries after opening (full speed means the rate of
the index before the restart). ``--dir`` keeps the index between runs (the build is skipped when the
directory already holds one of the right size). Results go to ``results/vector_restart.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.vector_data import corpus_chunks, queries
from benchmarks.vector_scale import exact_truth
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.graph_files import graphs_directory
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

RESULTS = Path(__file__).parent / "results"
CONFIG = IndexConfig("restart", 384, Metric.COSINE)


def _open(directory: Path) -> VectorIndex:
    return VectorIndex(CONFIG, VectorStore(directory / "restart.sqlite3"), AnnSettings())


def build(directory: Path, vectors: int) -> dict[str, float]:
    index = _open(directory)
    try:
        if index.size("") == vectors and "" in index._graphs and not index._namespaces[""].unindexed:
            return {"reused": 1.0}
        index.delete_all("")
        started = time.perf_counter()
        first = 0
        for chunk in corpus_chunks(vectors):
            for start in range(0, len(chunk), 1000):
                block = chunk[start : start + 1000]
                index.upsert("", RowBatch.dense([str(i) for i in range(first, first + len(block))], block))
                first += len(block)
        loaded = time.perf_counter()
        while index.maintain(chunk=10_000):
            pass
        built = time.perf_counter()
    finally:
        index.close()
    return {"upserts_s": round(loaded - started, 1), "graph_build_s": round(built - loaded, 1)}


def child(directory: Path, queries_file: Path, truth_file: Path, started: float) -> None:
    """One restart, in its own process: ``started`` is when the parent launched it."""
    index = _open(directory)
    opened = time.time()
    asked = np.load(queries_file)
    truth = json.loads(truth_file.read_text())
    first = index.query("", asked[0], 10)
    answered = time.time()
    begin = time.perf_counter()
    found = [index.query("", query, 10) for query in asked]
    elapsed = time.perf_counter() - begin
    hits = sum(len(set(want) & {m.record.id for m in got}) for want, got in zip(truth, found, strict=True))
    print(
        json.dumps(
            {
                "graph_loaded": "" in index._graphs,
                "open_s": round(opened - started, 2),
                "first_answer_s": round(answered - started, 2),
                "first_answer_ids": len(first),
                "queries_per_s": round(len(asked) / elapsed, 1),
                "recall_at_10": round(hits / (10 * len(asked)), 4),
            }
        ),
        flush=True,
    )
    index.store.close()  # leave the saved graph as it is


def restart(directory: Path, queries_file: Path, truth_file: Path) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", str(directory), str(queries_file), str(truth_file)]
    output = subprocess.run(
        [*command, str(time.time())], check=True, capture_output=True, text=True, timeout=1800
    ).stdout
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return result


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]), float(sys.argv[5]))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        record: dict[str, Any] = {"vectors": args.vectors, "build": build(directory, args.vectors)}
        print(json.dumps(record), flush=True)
        data = np.concatenate(list(corpus_chunks(args.vectors)))
        asked = queries(args.queries)
        queries_file, truth_file = Path(scratch) / "queries.npy", Path(scratch) / "truth.json"
        np.save(queries_file, asked)
        truth_file.write_text(json.dumps([sorted(want) for want in exact_truth(data, asked)]))
        del data
        graphs = graphs_directory(directory / "restart.sqlite3")
        aside = Path(scratch) / "graphs-aside"
        record["saved_graph"], record["no_saved_graph"] = [], []
        for _ in range(args.restarts):
            record["saved_graph"].append(restart(directory, queries_file, truth_file))
            shutil.move(graphs, aside)
            try:
                record["no_saved_graph"].append(restart(directory, queries_file, truth_file))
            finally:
                shutil.move(aside, graphs)
            print(json.dumps({k: record[k][-1] for k in ("saved_graph", "no_saved_graph")}), flush=True)
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / "vector_restart.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
