"""Dashboard endpoint pages against the API calls they are built on, with 20 busy endpoints.

One ``inferhouse serve`` subprocess with 20 embedding endpoints (a tiny sentence model, so loading them is
quick) that have each taken requests, so every endpoint has a request history. Signed in as the admin
token, one run interleaves ``--rounds`` times each of:

* the endpoints list page (``/ui/endpoints``), and the management API's list it starts from
  (``GET /v2/endpoint/local``), which has no traffic numbers: the page adds one history call per endpoint;
* one endpoint's page (``/ui/endpoints/{name}``: description, charts, playground forms), and its charts
  alone (``/ui/endpoints/{name}/charts``, what the page polls every 5 s), against the history route they
  draw (``GET /v2/endpoint/local/{name}/metrics``).

The target (issue 19) is every page under 300 ms on this machine.

    .venv/bin/python benchmarks/dashboard_pages.py [--rounds 50] [--endpoints 20]
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

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.dashboard import sign_in
from tests.support.models import build_tiny_sentence_model
from tests.support.server import start_server

RESULTS = Path(__file__).parent / "results" / "dashboard_pages.json"


def _time(session: requests.Session, url: str, **kwargs: object) -> float:
    started = time.perf_counter()
    reply = session.get(url, timeout=30, **kwargs)  # type: ignore[arg-type]
    elapsed = time.perf_counter() - started
    assert reply.status_code == 200, (url, reply.status_code, reply.text[:200])
    return elapsed * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--endpoints", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        model = build_tiny_sentence_model(Path(scratch) / "tiny")
        names = [f"e{index:02d}" for index in range(args.endpoints)]
        declared = [{"name": name, "model": str(model), "task": "sentence-embeddings"} for name in names]
        env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ENDPOINTS": json.dumps(declared)}
        server = start_server(Path(scratch) / "data", env=env)
        try:
            for name in names:  # every endpoint gets a history
                for _ in range(10):
                    requests.post(
                        f"{server.url}/endpoints/{name}/embed",
                        json={"inputs": ["a busy endpoint"]},
                        headers=server.headers,
                        timeout=30,
                    ).raise_for_status()
            assert server.token is not None
            browser, _ = sign_in(server.url, server.token)
            api = requests.Session()
            api.headers.update(server.headers)
            first = names[0]
            timed = {
                "GET /v2/endpoint/local (API list)": lambda: _time(api, f"{server.url}/v2/endpoint/local"),
                "/ui/endpoints (list page)": lambda: _time(browser, f"{server.url}/ui/endpoints"),
                "GET .../{name}/metrics (API history)": lambda: _time(
                    api, f"{server.url}/v2/endpoint/local/{first}/metrics"
                ),
                "/ui/endpoints/{name} (endpoint page)": lambda: _time(
                    browser, f"{server.url}/ui/endpoints/{first}"
                ),
                "/ui/endpoints/{name}/charts (polled charts)": lambda: _time(
                    browser, f"{server.url}/ui/endpoints/{first}/charts"
                ),
            }
            for call in timed.values():  # warm-up
                call()
            samples: dict[str, list[float]] = {label: [] for label in timed}
            for _ in range(args.rounds):
                for label, call in timed.items():
                    samples[label].append(call())
        finally:
            server.stop()
    summary = {
        label: {
            "median_ms": round(statistics.median(values), 1),
            "p95_ms": round(statistics.quantiles(values, n=20)[18], 1),
            "max_ms": round(max(values), 1),
        }
        for label, values in samples.items()
    }
    result = {
        "endpoints": args.endpoints,
        "rounds": args.rounds,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "pages": summary,
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    width = max(len(label) for label in summary)
    print(f"{'':{width}}  median    p95     max   (ms, {args.endpoints} endpoints, {args.rounds} rounds)")
    for label, numbers in summary.items():
        print(
            f"{label:{width}}  {numbers['median_ms']:6.1f} {numbers['p95_ms']:6.1f} {numbers['max_ms']:7.1f}"
        )


if __name__ == "__main__":
    main()
