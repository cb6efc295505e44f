"""What the query lane saves: the same Pinecone queries answered by the lane and by the FastAPI route.

    python benchmarks/query_lane.py [--vectors 2000] [--rounds 10] [--per-round 200] [--out FILE]

One app in this process (``create_app`` with its lifespan, reached over httpx's ASGI transport, as the
in-process tests do: no socket, so the figures are the app's own time plus a fixed hop), one index of
N x 384 random vectors with a ``sel10`` field (0-9), small enough that exact search costs little and the
difference is the request path's. Each round sends ``--per-round`` queries through the lane, then the
same queries with the lane's path pattern switched off so that FastAPI routes them (what the server did
before the lane), unfiltered and with ``{"sel10": {"$eq": 0}}``. Rounds alternate, so a slow spell of
the machine falls on both; the report gives the median and 90th percentile of each.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.inprocess import InProcessServer, serve_in_process

from inferhouse.api.pinecone import query_lane

HERE = Path(__file__).resolve().parent
INDEX = "lane-bench"
DIMENSION = 384
NEVER = re.compile(r"(?!)")
FILTERS: dict[str, dict[str, Any] | None] = {"unfiltered": None, "10%": {"sel10": {"$eq": 0}}}


def _load(server: InProcessServer, n: int, rng: np.random.Generator) -> None:
    spec = {"name": INDEX, "dimension": DIMENSION, "metric": "cosine", "spec": {"serverless": {}}}
    assert server.http.post("/indexes", json=spec, headers=server.headers).status_code == 201
    vectors = rng.standard_normal((n, DIMENSION), dtype=np.float32)
    for start in range(0, n, 200):
        batch = [
            {"id": str(i), "values": vectors[i].tolist(), "metadata": {"sel10": int(i % 10)}}
            for i in range(start, min(start + 200, n))
        ]
        reply = server.http.post(
            f"/indexes/{INDEX}/vectors/upsert", json={"vectors": batch}, headers=server.headers
        )
        assert reply.status_code == 200, reply.text


def _timed(server: InProcessServer, bodies: list[bytes]) -> list[float]:
    headers = {**server.headers, "Content-Type": "application/json"}
    spent = []
    for body in bodies:
        began = time.perf_counter()
        reply = server.http.post(f"/indexes/{INDEX}/query", content=body, headers=headers)
        spent.append(time.perf_counter() - began)
        assert reply.status_code == 200, reply.text
    return spent


def _summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": round(1000 * statistics.median(ordered), 3),
        "p90_ms": round(1000 * ordered[int(0.9 * (len(ordered) - 1))], 3),
        "requests": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--vectors", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "query_lane.json")
    args = parser.parse_args()
    rng = np.random.default_rng(11)
    asked = rng.standard_normal((args.per_round, DIMENSION), dtype=np.float32)
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "HF_HUB_OFFLINE": "1", "INFERHOUSE_LOG_LEVEL": "warning"}
    times: dict[str, dict[str, list[float]]] = {kind: {"lane": [], "route": []} for kind in FILTERS}
    with (
        tempfile.TemporaryDirectory(prefix="query-lane-") as tmp,
        serve_in_process(Path(tmp), env=env, wait_for_endpoints=False) as server,
    ):
        _load(server, args.vectors, rng)
        for kind, spec in FILTERS.items():
            bodies = [
                json.dumps(
                    {"vector": vector.tolist(), "topK": 10, **({"filter": spec} if spec else {})}
                ).encode()
                for vector in asked
            ]
            _timed(server, bodies[:20])  # warm-up, both paths
            for _ in range(args.rounds):
                times[kind]["lane"] += _timed(server, bodies)
                original = query_lane.QueryFastLane.route
                query_lane.QueryFastLane.route = NEVER
                try:
                    times[kind]["route"] += _timed(server, bodies)
                finally:
                    query_lane.QueryFastLane.route = original
    results = {
        kind: {path: _summary(spent) for path, spent in paths.items()} for kind, paths in times.items()
    }
    record = {"vectors": args.vectors, "dimension": DIMENSION, "rounds": args.rounds, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(
        f"{args.vectors:,} x {DIMENSION} vectors, {args.rounds} alternating rounds of {args.per_round} "
        "queries\n"
    )
    print("| query | lane median ms (p90) | FastAPI route median ms (p90) | saved per query |")
    print("|---|---|---|---|")
    for kind, paths in results.items():
        lane, route = paths["lane"], paths["route"]
        saved = route["median_ms"] - lane["median_ms"]
        print(
            f"| {kind} | {lane['median_ms']:.3f} ({lane['p90_ms']:.3f}) | {route['median_ms']:.3f} "
            f"({route['p90_ms']:.3f}) | {saved:.3f} ms |"
        )


if __name__ == "__main__":
    main()
