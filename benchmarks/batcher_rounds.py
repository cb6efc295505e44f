"""The batcher alone, in-process: what each ONNX graph makes of the server's rounds, without HTTP.

    .venv/bin/python benchmarks/batcher_rounds.py [--sentences 1024] [--rounds 2]

The bundled all-MiniLM-L6-v2 embeds the same pydoc sentences as ``embed_serving.py`` through the
server's own ``Batcher`` (server settings, two single-threaded ONNX workers on 2 cores), called by
asyncio clients in the same process: 16 and 64 clients sending one sentence, one and 16 clients
sending 64. Three variants of the backend, measured in interleaved rounds:

- **padded**: the padded ONNX graph;
- **unpadded, no pass budget**: the unpadded graph with ``max_pass_tokens`` 0 (passes as large as the
  server's token budget and size cap allow);
- **unpadded**: the unpadded graph as the server runs it (1,024-token passes on CPU).

Each load reports sentences/s (best round), its share of the limit (the best of both graphs on
globally length-sorted passes of 16, as ``embed_serving.py``'s limit) and the tokens its passes
computed per real token (padding included). Results go to ``results/batcher_rounds.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import pydoc_sentences
from benchmarks.embed_serving import model_dir
from benchmarks.pass_sizes import rate

RESULTS = Path(__file__).parent / "results"
LOADS = ((16, 1), (64, 1), (1, 64), (16, 64))


def limit(backend: Any, corpus: list[str]) -> float:
    """``embed_serving.py``'s limit loop for one backend: globally length-sorted passes of 16."""
    return rate(backend, sorted(backend.tokenize(corpus, "right"), key=lambda item: len(item.ids)), 16)


async def load(batcher: Any, corpus: list[str], clients: int, per_request: int) -> float:
    requests = iter([corpus[i : i + per_request] for i in range(0, len(corpus), per_request)])

    async def client() -> None:
        for texts in requests:
            await batcher.embed(texts)

    began = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return len(corpus) / (time.perf_counter() - began)


async def measure(variants: dict[str, Any], corpus: list[str], rounds: int) -> dict[str, Any]:
    from inferhouse.engine.batcher import Batcher, BatchStats
    from inferhouse.settings import Settings

    settings = Settings()
    real_tokens = sum(len(item.ids) for item in next(iter(variants.values())).tokenize(corpus, "right"))
    computed = {name: 0 for name in variants}
    batchers = {}
    for name, backend in variants.items():

        def count(stats: BatchStats, name: str = name) -> None:
            computed[name] += stats.computed_tokens

        batchers[name] = Batcher(
            backend,
            max_batch_tokens=settings.max_batch_tokens,
            max_batch_size=settings.max_batch_size,
            max_queued_inputs=settings.max_queued_inputs,
            max_wait_s=settings.max_batch_wait_ms / 1000,
            on_batch=count,
            name=name,
        )
    results: dict[str, Any] = {name: {} for name in variants}
    limits: list[float] = []
    try:
        for name in variants:
            await load(batchers[name], corpus[:128], 16, 1)  # warm-up
        for _ in range(rounds):
            limits.append(max(limit(variants["padded"], corpus), limit(variants["unpadded"], corpus)))
            for clients, per_request in LOADS:
                key = f"{clients} x {per_request}"
                for name in variants:
                    computed[name] = 0
                    rate = await load(batchers[name], corpus, clients, per_request)
                    await asyncio.sleep(0.1)  # a pass's stats are reported just after its callers resume
                    best = results[name].get(key, {"sentences_per_s": 0.0})
                    if rate > best["sentences_per_s"]:
                        results[name][key] = {
                            "sentences_per_s": rate,
                            "computed_per_real_token": computed[name] / real_tokens,
                        }
    finally:
        for batcher in batchers.values():
            batcher.close()
    best_limit = max(limits)
    for loads in results.values():
        for scenario in loads.values():
            scenario["share_of_limit"] = scenario["sentences_per_s"] / best_limit
    return {"limit_sentences_per_s": best_limit, "limits_per_round": limits, "loads": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from inferhouse.engine.backends.onnx_st import use_onnx
    from inferhouse.engine.backends.torch_st import SentenceTransformerBackend

    corpus = pydoc_sentences(args.sentences)
    reference = SentenceTransformerBackend.load(model_dir(), "cpu")
    with tempfile.TemporaryDirectory() as scratch:
        padded = use_onnx(reference, model_dir(), Path(scratch), choice="onnx", graph="padded").backend
        unpadded = use_onnx(reference, model_dir(), Path(scratch), choice="onnx", graph="unpadded").backend
        no_budget = use_onnx(reference, model_dir(), Path(scratch), choice="onnx", graph="unpadded").backend
    no_budget.max_pass_tokens = 0
    variants = {"padded": padded, "unpadded, no pass budget": no_budget, "unpadded": unpadded}
    record = asyncio.run(measure(variants, corpus, args.rounds))
    print(f"limit {record['limit_sentences_per_s']:.0f}/s")
    for name, loads in record["loads"].items():
        for key, scenario in loads.items():
            print(
                f"{name:>26} {key:>8}: {scenario['sentences_per_s']:5.0f}/s "
                f"{scenario['share_of_limit']:.2f} of the limit, "
                f"{scenario['computed_per_real_token']:.2f} tokens computed per real token"
            )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "batcher_rounds.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
