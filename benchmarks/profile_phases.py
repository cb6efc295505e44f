"""Where a served embedding's time goes: py-spy samples of the server, split by phase.

    .venv/bin/pip install py-spy && .venv/bin/python benchmarks/profile_phases.py

The server (cache off) runs once with the torch backend and once with ONNX Runtime; each takes two
loads for about 12 s (16 clients x 1 sentence, 4 clients x 64) while py-spy samples every thread at
200 Hz. Each sample goes to the phase of its innermost recognised frame: tokenize, forward, pool,
serialize, batching (planner, queue), http (uvicorn, starlette, fastapi, pydantic), event loop, other.
Idle threads are not sampled. Results: ``results/profile_phases.json``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import RunningServer, start_server

from benchmarks.corpus import pydoc_sentences
from benchmarks.embed_serving import Target, load

PY_SPY = Path(sys.executable).with_name("py-spy")

PHASES = [  # first match wins, checked from the innermost frame outwards
    ("pool", ("onnx_st.py", "pool")),
    ("pool", ("unpadded.py", "pool_segments")),
    ("tokenize", ("tokenize (", None)),
    ("tokenize", ("encode_batch", None)),
    ("forward", ("onnxruntime", None)),
    ("forward", ("site-packages/torch/", None)),
    ("forward", ("sentence_transformers", None)),
    ("forward", ("transformers/", None)),
    ("forward", ("forward (", None)),
    ("serialize", ("orjson", None)),
    ("serialize", ("responses.py", "render")),
    ("serialize", ("tolist", None)),
    ("batching", ("batcher.py", None)),
    ("batching", ("planning.py", None)),
    ("batching", ("work_queue.py", None)),
    ("http", ("uvicorn", None)),
    ("http", ("h11", None)),
    ("http", ("httptools", None)),
    ("http", ("starlette", None)),
    ("http", ("fastapi", None)),
    ("http", ("pydantic", None)),
    ("event loop", ("asyncio", None)),
]


def phase(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, (file_part, func) in PHASES:
            if file_part in frame and (func is None or func in frame):
                return name
    return "other"


def profile(
    server: RunningServer, backend: str, clients: int, per_request: int, corpus: list[str], seconds: int = 12
) -> dict[str, Any]:
    target = Target(
        "inferhouse",
        f"{server.url}/endpoints/all-minilm-l6-v2/embed",
        lambda t: {"inputs": t},
        len,
        {**server.headers, "x-use-cache": "false"},
    )
    out = Path(tempfile.mktemp(suffix=".txt"))
    spy = subprocess.Popen(
        [
            str(PY_SPY),
            "record",
            "--pid",
            str(server.process.pid),
            "--duration",
            str(seconds),
            "--format",
            "raw",
            "--output",
            str(out),
            "--threads",
            "--nonblocking",
            "--rate",
            "200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)
    began = time.time()
    rates = []
    while time.time() - began < seconds - 2:
        rates.append(asyncio.run(load(target, corpus, clients, per_request))["sentences_per_s"])
    spy.wait()
    counts: collections.Counter[str] = collections.Counter()
    for line in out.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if "idle" in stack or not n.isdigit():
            continue
        counts[phase(stack)] += int(n)
    total = sum(counts.values())
    return {
        "load": f"{clients} clients x {per_request}",
        "backend": backend,
        "sentences_per_s": max(rates),
        "samples": total,
        "share": {k: round(v / total, 3) for k, v in counts.most_common()},
    }


def main() -> None:
    corpus = pydoc_sentences(512)
    results = []
    for backend in ("torch", "onnx"):
        env = {"INFERHOUSE_CACHE_BYTES": "0", "INFERHOUSE_BACKEND": backend}
        server = start_server(Path(tempfile.mkdtemp()), env=env)
        try:
            for clients, per_request in ((16, 1), (4, 64)):
                results.append(profile(server, backend, clients, per_request, corpus))
                print(json.dumps(results[-1]), flush=True)
        finally:
            server.stop()
    out = Path(__file__).parent / "results" / "profile_phases.json"
    out.write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
