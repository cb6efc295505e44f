"""Text generation speed: transformers' own generate loop against inferhouse's continuous batching.

    python benchmarks/generation.py [--new-tokens 64] [--requests 16] [--rounds 2]

One run, one machine, one model: a random GPT-2 (6 layers, hidden 384, 6 heads, 1024 positions) with
a byte-level BPE of about 8k tokens trained on pydoc sentences, saved to a temporary directory. The
tokenizer has no end-of-sequence token, so every request generates exactly ``--new-tokens`` tokens,
greedily. Prompts are distinct pydoc sentences (about 10-50 tokens).

1. **plain loop**: ``model.generate(**inputs, max_new_tokens=N, do_sample=False)`` in-process, one
   request after another (what a simple server does), on a worker thread like the engine's loop;
2. **engine in-process**: inferhouse's generator (``load_text_generator``) called directly, 1 and 8
   requests at once, no HTTP;
3. **inferhouse HTTP**: ``python -m inferhouse serve`` with the model as a ``text-generation``
   endpoint, ``POST /endpoints/{name}/generate`` with ``{"inputs", "parameters": {"max_new_tokens"}}``
   from 1 and 8 concurrent clients.

Reported: generated tokens per second (all requests together), p50 latency per request, and the
ratio to the plain loop; the best of ``--rounds`` (3), each round running every scenario in turn.
Results go to ``results/generation.json``.
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
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.server import start_server
from tests.support.text_models import CausalShape, build_tiny_causal_lm

from benchmarks.corpus import pydoc_sentences

RESULTS = Path(__file__).parent / "results"
CONCURRENCY = (1, 8)
ENDPOINT = "bench-gpt2"
MODEL_ID = "bench/gpt2-6l-384"


def build_model(target: Path, sentences: list[str]) -> Path:
    # No BOS or EOS: nothing can end a generation early, so every request makes exactly N tokens.
    return build_tiny_causal_lm(
        target,
        chat_template=False,
        max_positions=1024,
        shape=CausalShape(layers=6, hidden=384, heads=6, vocab_size=8192),
        lines=sentences,
        end_tokens=False,
    )


def summarize(latencies: list[float], tokens: int, seconds: float) -> dict[str, float]:
    return {
        "tokens_per_s": tokens / seconds,
        "p50_latency_ms": 1000 * statistics.median(latencies),
        "requests": len(latencies),
        "seconds": seconds,
    }


def plain_loop(path: Path, prompts: list[str], new_tokens: int) -> dict[str, float]:
    """Run in a worker thread, as the engine's loop is (and as a simple server's handler would be):
    on the shared 2-core machine the same forward passes ran several times slower, and erratically, on
    the main thread."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_plain_loop, path, prompts, new_tokens).result()


def _plain_loop(path: Path, prompts: list[str], new_tokens: int) -> dict[str, float]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    latencies: list[float] = []
    produced = 0
    with torch.inference_mode():
        warm = tokenizer(prompts[0], return_tensors="pt")
        model.generate(**warm, max_new_tokens=4, do_sample=False)
        began = time.perf_counter()
        for prompt in prompts:
            start = time.perf_counter()
            inputs = tokenizer(prompt, return_tensors="pt")
            output = model.generate(**inputs, max_new_tokens=new_tokens, do_sample=False)
            produced += output.shape[1] - inputs["input_ids"].shape[1]
            latencies.append(time.perf_counter() - start)
        seconds = time.perf_counter() - began
    if produced != new_tokens * len(prompts):
        raise RuntimeError(f"plain loop made {produced} tokens, not {new_tokens * len(prompts)}")
    return summarize(latencies, produced, seconds)


async def drive(
    call: Callable[[str], Awaitable[int]], prompts: list[str], clients: int, new_tokens: int
) -> dict[str, float]:
    """``clients`` callers, each taking the next prompt as soon as its last one is answered."""
    queue = list(reversed(prompts))
    latencies: list[float] = []
    produced = 0

    async def client() -> None:
        nonlocal produced
        while queue:
            prompt = queue.pop()
            start = time.perf_counter()
            made = await call(prompt)
            latencies.append(time.perf_counter() - start)
            if made != new_tokens:
                raise RuntimeError(f"a request made {made} tokens, not {new_tokens}")
            produced += made

    await call(prompts[0])  # warm-up
    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return summarize(latencies, produced, time.perf_counter() - began)


def engine_in_process(path: Path, prompts: list[str], new_tokens: int, clients: int) -> dict[str, float]:
    from inferhouse.engine.generation import GenerationParams, load_text_generator

    generator = load_text_generator(path, "text-generation", name=ENDPOINT, env={})
    params = GenerationParams(max_new_tokens=new_tokens)

    async def call(prompt: str) -> int:
        return (await generator.generate(prompt, params)).generated_tokens

    try:
        return asyncio.run(drive(call, prompts, clients, new_tokens))
    finally:
        generator.close()


def over_http(url: str, headers: dict[str, str], prompts: list[str], new_tokens: int, clients: int) -> Any:
    import aiohttp

    async def run() -> dict[str, float]:
        connector = aiohttp.TCPConnector(limit=clients)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def call(prompt: str) -> int:
                body = {"inputs": prompt, "parameters": {"max_new_tokens": new_tokens, "details": True}}
                async with session.post(url, json=body) as reply:
                    answer = await reply.json(content_type=None)
                    if reply.status != 200:
                        raise RuntimeError(f"{reply.status}: {str(answer)[:300]}")
                    return int(answer["details"]["generated_tokens"])

            return await drive(call, prompts, clients, new_tokens)

    return asyncio.run(run())


def best(rounds: list[dict[str, float]]) -> dict[str, float]:
    return max(rounds, key=lambda result: result["tokens_per_s"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-tokens", type=int, default=64)
    parser.add_argument("--requests", type=int, default=16, help="requests per scenario")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import torch

    sentences = pydoc_sentences(2000)
    prompts = sentences[: args.requests]
    record: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "load_average_at_start": os.getloadavg(),
        },
        "model": "random GPT-2: 6 layers, hidden 384, 6 heads, 1024 positions, byte-level BPE ~8k vocab",
        "new_tokens": args.new_tokens,
        "requests_per_scenario": args.requests,
        "decoding": "greedy, no end-of-sequence token (every request makes exactly new_tokens)",
    }
    with tempfile.TemporaryDirectory() as scratch:
        path = build_model(Path(scratch) / "model", sentences)
        env = {
            "INFERHOUSE_DEFAULT_ENDPOINT": "false",
            "INFERHOUSE_MODELS": json.dumps({MODEL_ID: str(path)}),
            "INFERHOUSE_ENDPOINTS": json.dumps(
                [{"name": ENDPOINT, "model": MODEL_ID, "task": "text-generation"}]
            ),
        }
        server = start_server(Path(scratch) / "data", env=env)
        url = f"{server.url}/endpoints/{ENDPOINT}/generate"
        # Every round runs every scenario, so all of them meet the same state of a noisy machine; the
        # server idles while the in-process loops run, and the reverse.
        rounds: dict[str, list[dict[str, float]]] = {"plain loop": []}
        try:
            for _ in range(args.rounds):
                rounds["plain loop"].append(plain_loop(path, prompts, args.new_tokens))
                for clients in CONCURRENCY:
                    in_process = engine_in_process(path, prompts, args.new_tokens, clients)
                    rounds.setdefault(f"engine in-process, {clients} concurrent", []).append(in_process)
                    served = over_http(url, server.headers, prompts, args.new_tokens, clients)
                    rounds.setdefault(f"inferhouse HTTP, {clients} concurrent", []).append(served)
                for name, results in rounds.items():
                    print(name, results[-1], flush=True)
        finally:
            server.stop()
    plain = best(rounds.pop("plain loop"))
    record["plain_loop"] = plain
    scenarios = {name: best(results) for name, results in rounds.items()}
    for result in scenarios.values():
        result["vs_plain_loop"] = result["tokens_per_s"] / plain["tokens_per_s"]
    record["scenarios"] = scenarios
    record["machine"]["load_average_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "generation.json").write_text(json.dumps(record, indent=2) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
