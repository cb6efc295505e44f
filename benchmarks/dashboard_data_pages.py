"""The dashboard's index, inference, token and server pages against the raw API calls behind them, on a
server with many endpoints and large indexes (``dashboard_pages.py`` times the endpoint pages).

    python benchmarks/dashboard_data_pages.py [--endpoints 20] [--indexes 50] [--records 100000] [--rounds 30]
                                         [--browser]

A server (a subprocess, default settings but the torch backend) declares ``--endpoints`` endpoints of a
tiny two-layer test model (they load in seconds); ``--indexes`` dense indexes of 32 dimensions are created
through the API, the server is stopped, and ``--records`` vectors with a little metadata are written into
each index through the embedded backend in this process (no HTTP: far faster than 1,000-vector upserts),
then the server starts again on the same data directory and loads them. ANN graphs are held off
(``INFERHOUSE_ANN_MIN_VECTORS`` above the record count) so no background graph build competes with the
timed requests; no page queries an index.

Each round fetches every page once, signed in as the admin token through the dashboard's sign-in form,
and right after it the JSON API calls the page makes (the same token), one request at a time from this
process over 127.0.0.1; the order of pages is the same in every round. Reported: median, p95 and max of
the server's full reply (time to the last byte) per page and per API set, against the 300 ms target.
With ``--browser``, Debian's chromium (through Playwright) also loads each page ``--rounds`` times,
timed from navigation to the load event (stylesheet and htmx included, from its cache after the first).
Results go to ``results/dashboard_data_pages.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.dashboard import sign_in
from tests.support.models import build_tiny_sentence_model
from tests.support.server import RunningServer, start_server

from inferhouse.vectors.backend import EmbeddedStorage
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric

RESULTS = Path(__file__).parent / "results"
DIMENSION = 32
BATCH = 10_000
TARGET_MS = 300.0


def _pages(index: str) -> dict[str, tuple[str, list[str]]]:
    """Each page, with the API calls it makes (what a script would call for the same facts)."""
    return {
        "indexes": ("/ui/indexes", ["/api/indexes"]),
        "index": (
            f"/ui/indexes/{index}?namespace=main",
            [f"/api/indexes/{index}", f"/indexes/{index}/vectors/list?namespace=main&limit=20"],
        ),
        "record": (
            f"/ui/indexes/{index}/record?id=r0000042&namespace=main",
            [f"/indexes/{index}/vectors/fetch?ids=r0000042&namespace=main"],
        ),
        "inference": ("/ui/inference", ["/_inference"]),
        "tokens": ("/ui/tokens", ["/api/tokens"]),
        "server": ("/ui/server", ["/api/server"]),
    }


def _fill(data_dir: Path, names: list[str], records: int) -> float:
    """Write ``records`` vectors into each index's files, as the server's own backend stores them."""
    started = time.perf_counter()
    storage = EmbeddedStorage(data_dir / "indexes")
    rng = np.random.default_rng(7)
    for name in names:
        index = storage.open(IndexConfig(name=name, dimension=DIMENSION, metric=Metric.COSINE))
        for start in range(0, records, BATCH):
            count = min(BATCH, records - start)
            ids = [f"r{n:07d}" for n in range(start, start + count)]
            batch = RowBatch.dense(ids, rng.standard_normal((count, DIMENSION), dtype=np.float32))
            batch.metadata[:] = [
                {"bucket": n % 10, "title": f"record {n}"} for n in range(start, start + count)
            ]
            index.upsert("main", batch)
        index.close()
    return time.perf_counter() - started


def _timed(session: requests.Session, url: str, headers: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    reply = session.get(url, headers=headers, timeout=120)
    elapsed = (time.perf_counter() - started) * 1000
    if reply.status_code != 200:
        raise RuntimeError(f"{url}: {reply.status_code} {reply.text[:300]}")
    return elapsed


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def _browser_loads(server: RunningServer, paths: dict[str, str], rounds: int) -> dict[str, list[float]]:
    """Full page loads in chromium: navigation start to the load event, per page."""
    from playwright.sync_api import sync_playwright

    assert server.token is not None
    loads: dict[str, list[float]] = {name: [] for name in paths}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(server.url + "/ui/signin")
        page.get_by_label("Token").fill(server.token)
        page.get_by_label("Token").press("Enter")
        page.wait_for_url("**/ui/endpoints")
        for round_number in range(rounds + 2):  # two warm-up rounds, not kept
            for name, path in paths.items():
                page.goto(server.url + path, wait_until="load")
                timing = page.evaluate("() => JSON.stringify(performance.getEntriesByType('navigation')[0])")
                entry = json.loads(timing)
                if round_number >= 2:
                    loads[name].append(entry["loadEventEnd"] - entry["startTime"])
        browser.close()
    return loads


def _start(data_dir: Path, env: dict[str, str]) -> RunningServer:
    started = time.perf_counter()
    server = start_server(data_dir, env=env)
    print(f"server up in {time.perf_counter() - started:.1f} s", flush=True)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--indexes", type=int, default=50)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--browser", action="store_true", help="also time full loads in chromium")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        model = build_tiny_sentence_model(root / "tiny")
        endpoints = [
            {"name": f"ep-{n:02d}", "model": str(model), "task": "sentence-embeddings"}
            for n in range(args.endpoints)
        ]
        env = {
            "INFERHOUSE_DEFAULT_ENDPOINT": "false",
            "INFERHOUSE_ENDPOINTS": json.dumps(endpoints),
            "INFERHOUSE_ANN_MIN_VECTORS": str(args.records + 1),
        }
        data_dir = root / "data"
        names = [f"index-{n:02d}" for n in range(args.indexes)]
        server = _start(data_dir, env)
        try:
            for name in names:
                body = {"name": name, "dimension": DIMENSION, "metric": "cosine"}
                requests.post(
                    server.url + "/indexes", json=body, headers=server.headers, timeout=60
                ).raise_for_status()
        finally:
            server.stop()
        fill_s = _fill(data_dir, names, args.records)
        print(f"{args.indexes} x {args.records} records written in {fill_s:.1f} s", flush=True)
        server = _start(data_dir, env)
        try:
            assert server.token is not None
            browser, signed_in = sign_in(server.url, server.token)
            signed_in.raise_for_status()
            api = requests.Session()
            pages = _pages(names[len(names) // 2])
            timings: dict[str, dict[str, list[float]]] = {name: {"page": [], "api": []} for name in pages}
            for round_number in range(args.rounds + 2):  # two warm-up rounds, not kept
                for name, (page, calls) in pages.items():
                    page_ms = _timed(browser, server.url + page)
                    api_ms = sum(_timed(api, server.url + call, server.headers) for call in calls)
                    if round_number >= 2:
                        timings[name]["page"].append(page_ms)
                        timings[name]["api"].append(api_ms)
            loads = (
                _browser_loads(server, {n: p for n, (p, _) in pages.items()}, args.rounds)
                if args.browser
                else {}
            )
            stats = requests.get(server.url + "/api/indexes", headers=server.headers, timeout=60).json()
            total_records = sum(item["records"] for item in stats["items"])
        finally:
            server.stop()
    rows = {}
    print(
        f"\n{'page':<11} {'page median':>12} {'p95':>8} {'max':>8} "
        f"{'API median':>11} {'p95':>8} {'browser':>9}"
    )
    for name, kept in timings.items():
        page, raw = _summary(kept["page"]), _summary(kept["api"])
        rows[name] = {"path": pages[name][0], "api_calls": pages[name][1], "page": page, "api": raw}
        loaded = ""
        if loads:
            rows[name]["browser_load"] = _summary(loads[name])
            loaded = f"{rows[name]['browser_load']['median_ms']:>7.1f}ms"
        verdict = "" if page["p95_ms"] < TARGET_MS else "  OVER 300 ms"
        print(
            f"{name:<11} {page['median_ms']:>10.1f}ms {page['p95_ms']:>6.1f}ms {page['max_ms']:>6.1f}ms "
            f"{raw['median_ms']:>9.1f}ms {raw['p95_ms']:>6.1f}ms {loaded:>9}{verdict}"
        )
    record: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "endpoints": args.endpoints,
        "indexes": args.indexes,
        "records_per_index": args.records,
        "records_total": total_records,
        "fill_seconds": round(fill_s, 1),
        "rounds": args.rounds,
        "target_ms": TARGET_MS,
        "pages": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dashboard_data_pages.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
