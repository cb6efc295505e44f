"""How the size of a forward pass moves ONNX Runtime's speed on this CPU, for both exported graphs.

    .venv/bin/python benchmarks/pass_sizes.py [--sentences 1024] [--rounds 3]

The bundled all-MiniLM-L6-v2 embeds the same pydoc sentences, length-sorted and cut into passes of
8 to 64 sentences, run costliest first by one single-threaded worker per core (the server's CPU
layout), with the unpadded and with the padded graph. Rounds interleave every pass size, so a drift of
the machine's speed touches them all; the median round is reported. This is what ``CPU_PASS_TOKENS``
(``engine/backends/onnx_st.py``) rests on. Results go to ``results/pass_sizes.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import pydoc_sentences
from benchmarks.embed_serving import model_dir

RESULTS = Path(__file__).parent / "results"
SIZES = (8, 12, 16, 24, 32, 48, 64)


def rate(backend: Any, tokens: list[Any], size: int) -> float:
    passes = [tokens[start : start + size] for start in range(0, len(tokens), size)]
    passes.sort(key=lambda batch: -sum(len(item.ids) for item in batch))
    began = time.perf_counter()
    with ThreadPoolExecutor(backend.concurrency) as workers:
        list(workers.map(backend.forward, passes))
    return len(tokens) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from inferhouse.engine.backends.onnx_st import use_onnx
    from inferhouse.engine.backends.torch_st import SentenceTransformerBackend

    corpus = pydoc_sentences(args.sentences)
    reference = SentenceTransformerBackend.load(model_dir(), "cpu")
    tokens = sorted(reference.tokenize(corpus, "right"), key=lambda item: len(item.ids))
    mean_tokens = sum(len(item.ids) for item in tokens) / len(tokens)
    cores = os.cpu_count() or 1
    backends: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for graph in ("unpadded", "padded"):
            verdict = use_onnx(
                reference, model_dir(), Path(scratch), choice="onnx", layout=(cores, 1), graph=graph
            )
            backends[graph] = verdict.backend
        for backend in backends.values():
            rate(backend, tokens[:128], 16)  # warm-up
        rounds: dict[str, dict[int, list[float]]] = {graph: {n: [] for n in SIZES} for graph in backends}
        for _ in range(args.rounds):
            for size in SIZES:
                for graph, backend in backends.items():
                    rounds[graph][size].append(rate(backend, tokens, size))
    record: dict[str, Any] = {
        "sentences": len(corpus),
        "workers": cores,
        "mean_tokens_per_sentence": mean_tokens,
        "sentences_per_s": {},
    }
    print(f"{'pass size':>9} {'~tokens':>8} " + " ".join(f"{graph:>10}" for graph in backends))
    for size in SIZES:
        medians = {graph: statistics.median(rounds[graph][size]) for graph in backends}
        record["sentences_per_s"][str(size)] = {"approx_tokens": size * mean_tokens, **medians}
        print(f"{size:>9} {size * mean_tokens:>8.0f} " + " ".join(f"{medians[g]:>10.0f}" for g in backends))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pass_sizes.json").write_text(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
