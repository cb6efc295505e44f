"""Served embedding throughput with replicas in the server process against replicas on Ray Serve.

    python benchmarks/embed_runtimes.py [--sentences 768] [--rounds 3] [--out FILE.json]

Two servers run side by side on this machine, each with the bundled all-MiniLM-L6-v2 as its default
endpoint, the embedding cache and load shedding off: one with ``INFERHOUSE_RUNTIME=inprocess`` (the
default), one with ``INFERHOUSE_RUNTIME=ray`` on a Ray cluster it starts itself
(``INFERHOUSE_RAY_ADDRESS=local``), both on the torch backend so only the runtime differs. The same
clients drive both (16 clients x 1 sentence, 4 clients x 64 sentences per request) in interleaved
rounds; each row is the median round, and the ratio is the median of the per-round ratios to
in-process. What the Ray row costs is the handle call, the pickling of inputs and vectors between
processes, and Ray's own processes on the same cores; what it buys is replicas on other machines,
which one machine cannot show.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import RunningServer, start_server

from benchmarks.corpus import pydoc_sentences
from benchmarks.embed_throughput import SCENARIOS, Result, median_round, served

RUNTIMES = {
    "inprocess": {"INFERHOUSE_RUNTIME": "inprocess"},
    "ray": {
        "INFERHOUSE_RUNTIME": "ray",
        "INFERHOUSE_RAY_ADDRESS": "local",
        "RAY_USAGE_STATS_ENABLED": "0",
        "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
    },
}
# No shedding: every request is served, so both rows count the same work.
COMMON = {"INFERHOUSE_CACHE_BYTES": "0", "INFERHOUSE_BACKEND": "torch", "INFERHOUSE_MAX_QUEUE_SECONDS": "0"}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=768)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "embed_runtimes.json")
    args = parser.parse_args()

    corpus = pydoc_sentences(args.sentences)
    rounds: dict[str, list[Result]] = {}
    servers: dict[str, RunningServer] = {}
    with tempfile.TemporaryDirectory() as data_root:
        try:
            for runtime, env in RUNTIMES.items():
                servers[runtime] = start_server(Path(data_root) / runtime, env={**COMMON, **env})
            for _ in range(args.rounds):
                for clients, per_request in SCENARIOS:
                    by_runtime: dict[str, Result] = {}
                    for runtime, server in servers.items():
                        result = asyncio.run(
                            served(server.url, server.token or "", corpus, clients, per_request)
                        )
                        result.scenario = f"{runtime}: {result.scenario}"
                        by_runtime[runtime] = result
                    base = by_runtime["inprocess"].sentences_per_s
                    for result in by_runtime.values():
                        result.ratio_to_in_process = result.sentences_per_s / base
                        rounds.setdefault(result.scenario, []).append(result)
        finally:
            for server in servers.values():
                server.stop()

    results = [median_round(runs) for runs in rounds.values()]
    print("\n| runtime: scenario | sentences/s | x in-process | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r.scenario} | {r.sentences_per_s:.0f} | {r.ratio_to_in_process:.2f} "
            f"| {r.p50_ms:.0f} | {r.p99_ms:.0f} |"
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "corpus": {"source": "pydoc_data.topics sentences", "count": len(corpus)},
        "rounds": {name: [asdict(r) for r in runs] for name, runs in rounds.items()},
        "results": [asdict(r) for r in results],
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
