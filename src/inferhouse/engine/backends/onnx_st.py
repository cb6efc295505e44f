"""sentence-transformers encoders run by ONNX Runtime on the CPU.

The encoder is exported once with ``torch.onnx`` and cached in the data directory under a key of the
model's files, the exporter and the runtime, so a later load (a restart, a scale from zero, another
replica) only opens the file. Tokenization, prompts and limits stay with the torch backend the export
came from; pooling runs here in numpy. Before it serves, the exported model must give the torch
backend's vectors (cosine >= 0.9999 on a batch with padding and truncation); anything else falls back
to torch with the reason logged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import EmbeddingBackend, PaddedBatch, TokenizedText, TruncationDirection
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.backends.unpadded import (
    export_unpadded,
    pool_segments,
    position_offset,
    unpadded_feeds,
    unsupported_reason,
)
from inferhouse.engine.planning import pass_budget, plan_round

log = logging.getLogger(__name__)

BackendChoice = Literal["auto", "torch", "onnx", "onnx-int8"]
BACKEND_CHOICES: tuple[BackendChoice, ...] = ("auto", "torch", "onnx", "onnx-int8")
EXPORT_FORMAT = 2  # bump when the exported graph changes, so caches of the old one are not reused
PARITY_COSINE = 0.9999
_MAX_WORKERS = 4
_PROBE_BATCH_TOKENS, _PROBE_BATCH_SIZE = 16384, 64  # the server's default batch limits
INT8_FLOOR_COSINE = 0.95  # int8 loses precision by design; below this it is not worth serving
# What a token costs the planner in an unpadded pass, relative to one in a padded row: attention still
# pads, but it is a small share of a pass.
UNPADDED_TOKEN_COST = 1.0
Graph = Literal["unpadded", "padded"]
# Passes of the bundled model on single-threaded workers ran 296-315 sentences/s up to about 1,300
# tokens and 262 at 1,700 (benchmarks/pass_sizes.py): past that, activations spill out of the caches.
CPU_PASS_TOKENS = 1024
_POOLINGS = ("mean", "cls", "max")
_EXPORT_SAMPLE = ["an export sample", "a second, longer export sample sentence"]
_PROBE = [
    "a short one",
    "Padding and truncation both happen in this probe batch, so the exported graph is checked on "
    "the cases real traffic brings.",
    "word " * 600,  # longer than any small encoder takes: truncated
    "x",
]


@dataclass(frozen=True)
class OnnxVerdict:
    """What became of an attempt to serve a model with ONNX Runtime."""

    backend: EmbeddingBackend
    reason: str  # why this backend serves, for the log and the endpoint's logs


class OnnxBackend:
    """Runs the exported encoder; everything but the forward pass is the torch backend's.

    The graph is either the unpadded one (``backends/unpadded.py``: a pass costs its tokens) or the
    encoder exported as is, on padded rows."""

    def __init__(
        self, reference: SentenceTransformerBackend, session: Any, pooling: str, int8: bool, workers: int = 1
    ) -> None:
        self._reference = reference
        self._session = session
        self._pooling = pooling
        self._inputs = {item.name for item in session.get_inputs()}
        self.graph: Graph = "unpadded" if "gather_index" in self._inputs else "padded"
        self._offset = position_offset(reference.encoder)
        self.dimension = reference.dimension
        self.max_input_length = reference.max_input_length
        self.normalizes = reference.normalizes
        self.prompts = reference.prompts
        self.dtype = "int8" if int8 else "float32"
        self.loaded_as = "onnx"  # the loader says why (engine.backends.choose)
        self.batch_overhead_tokens = reference.batch_overhead_tokens
        # Unpadded passes are packed ones to the planner, with rows as long as the pass.
        self.packed_token_cost = UNPADDED_TOKEN_COST if self.graph == "unpadded" else 0.0
        self.packed_row_tokens = 0
        self.concurrency = workers  # a session runs calls from several threads at once
        self.max_pass_tokens = CPU_PASS_TOKENS
        self._pad_id = reference.pad_id

    def tokenize(self, texts: Sequence[str], direction: TruncationDirection) -> list[TokenizedText]:
        return self._reference.tokenize(texts, direction)

    def forward(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        if self.graph == "unpadded":
            return self._forward_unpadded(batch)
        padded = PaddedBatch.of(batch, self._pad_id)
        feeds = {
            "input_ids": padded.input_ids,
            "attention_mask": padded.attention_mask,
            "token_type_ids": padded.token_type_ids,
        }
        (tokens,) = self._session.run(None, {name: feeds[name] for name in self._inputs})
        return np.ascontiguousarray(pool(tokens, padded.attention_mask, self._pooling), dtype=np.float32)

    def _forward_unpadded(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        lengths = [len(item.ids) for item in batch]
        if not any(lengths):
            return np.zeros((len(batch), self.dimension), dtype=np.float32)
        (tokens,) = self._session.run(None, unpadded_feeds(batch, self._offset))
        return pool_segments(tokens, lengths, self._pooling)


def pool(tokens: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], mode: str) -> npt.NDArray[np.float32]:
    """Sentence vectors from token vectors, as sentence-transformers' Pooling module makes them."""
    if mode == "cls":
        pooled = tokens[:, 0]
    elif mode == "max":
        pooled = np.where(mask[..., None] > 0, tokens, np.float32(-1e9)).max(axis=1)
    else:
        weights = mask[..., None].astype(np.float32)
        pooled = (tokens * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return np.asarray(pooled, dtype=np.float32)


def use_onnx(
    reference: SentenceTransformerBackend,
    model_path: Path,
    cache_root: Path,
    *,
    choice: BackendChoice,
    threads: int | None = None,
    layout: tuple[int, int] | None = None,
    graph: Graph | None = None,
) -> OnnxVerdict:
    """The backend to serve ``reference``'s model with: ONNX when asked (or, for ``auto``, when it is
    faster on this machine) and when its vectors match; otherwise ``reference`` itself.

    ONNX runs on ``threads`` CPU threads (all cores when None) as :func:`cpu_layout` arranges them, or
    as ``layout`` (workers, threads per worker) says. Its ``graph`` is, unless given, the unpadded one
    where the encoder allows it, and the padded one otherwise or when the unpadded one fails to export
    or to match torch."""
    if choice == "torch":
        return OnnxVerdict(reference, "torch: asked for")
    pooling, unsupported = _pooling_of(reference)
    if unsupported:
        return OnnxVerdict(reference, f"torch: ONNX is not used because {unsupported}")
    arrangement = layout or cpu_layout(threads or os.cpu_count() or 1)
    if graph is None:
        why_padded = unsupported_reason(reference.encoder)
        if why_padded is None:
            verdict = _verdict_for(
                reference, model_path, cache_root, choice, arrangement, pooling, "unpadded"
            )
            if isinstance(verdict.backend, OnnxBackend) or verdict.reason.startswith("torch: faster"):
                return verdict
            why_padded = verdict.reason.removeprefix("torch: ")
        log.info("%s: padded ONNX graph, since %s", model_path.name, why_padded)
        graph = "padded"
    return _verdict_for(reference, model_path, cache_root, choice, arrangement, pooling, graph)


def _verdict_for(
    reference: SentenceTransformerBackend,
    model_path: Path,
    cache_root: Path,
    choice: BackendChoice,
    layout: tuple[int, int],
    pooling: str,
    graph: Graph,
) -> OnnxVerdict:
    int8 = choice == "onnx-int8"
    floor = INT8_FLOOR_COSINE if int8 else PARITY_COSINE
    workers, per_worker = layout
    try:
        folder = _exported(reference, model_path, cache_root, int8, graph)
        known = _known_verdict(folder, graph, int8, workers)
        # A graph that failed parity is no verdict on speed: the next graph gets its turn.
        matched = known is not None and known["lowest_cosine"] >= floor
        if choice == "auto" and known is not None and matched and known["torch_s"] <= known["onnx_s"]:
            return OnnxVerdict(reference, f"torch: faster than ONNX here ({_timings(known)})")
        session = _session(folder / _model_file(graph, int8), per_worker)
    except Exception as error:  # an exporter or runtime failure: torch still serves
        log.warning("ONNX export of %s (%s graph) failed: %s", model_path.name, graph, error)
        return OnnxVerdict(
            reference, f"torch: the ONNX export failed ({type(error).__name__}: {error})"[:500]
        )
    candidate = OnnxBackend(reference, session, pooling, int8, workers)
    measured = _measured(folder, graph, int8, reference, candidate)
    lowest = measured["lowest_cosine"]
    if lowest < floor:
        reason = f"torch: ONNX vectors differ from torch's (lowest cosine {lowest:.6f} < {floor})"
        log.warning("%s for %s (%s graph)", reason, model_path.name, graph)
        return OnnxVerdict(reference, reason)
    agreement = f"lowest cosine to torch {lowest:.6f}; {graph} graph"
    if choice != "auto":
        return OnnxVerdict(candidate, f"{choice}: asked for; {agreement}")
    timings = (
        f"torch {measured['torch_s'] * 1000:.0f} ms, onnx {measured['onnx_s'] * 1000:.0f} ms per probe batch"
    )
    if measured["onnx_s"] < measured["torch_s"]:
        return OnnxVerdict(candidate, f"onnx: faster than torch here ({timings}); {agreement}")
    return OnnxVerdict(reference, f"torch: faster than ONNX here ({timings})")


def _pooling_of(reference: SentenceTransformerBackend) -> tuple[str, str | None]:
    """The pooling mode, or why this pipeline cannot be exported as transformer + numpy pooling."""
    modules = reference.pipeline
    names = [type(module).__name__ for module in modules]
    if len(modules) != 2 or names[0] != "Transformer" or names[1] != "Pooling":
        return "", f"its pipeline is {' -> '.join(names)}, not Transformer -> Pooling (-> Normalize)"
    pooling = modules[1]
    mode = str(getattr(pooling, "pooling_mode", ""))
    if mode not in _POOLINGS:
        return "", f"its pooling mode {mode!r} is not one of {', '.join(_POOLINGS)}"
    if getattr(pooling, "include_prompt", True) is False:
        return "", "its pooling leaves the prompt out"
    return mode, None


def _cache_key(model_path: Path) -> str:
    import onnxruntime
    import torch

    digest = hashlib.sha256()
    digest.update(f"{EXPORT_FORMAT}|{torch.__version__}|{onnxruntime.__version__}".encode())
    resolved = model_path.resolve()
    digest.update(str(resolved).encode())
    for file in sorted(resolved.rglob("*")):
        if file.is_file() and not file.name.startswith("."):
            stat = file.stat()
            digest.update(f"{file.relative_to(resolved)}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:32]


def _model_file(graph: Graph, int8: bool) -> str:
    return f"model{'.unpadded' if graph == 'unpadded' else ''}{'.int8' if int8 else ''}.onnx"


def _exported(
    reference: SentenceTransformerBackend, model_path: Path, cache_root: Path, int8: bool, graph: Graph
) -> Path:
    """The cache folder holding the encoder exported as ``graph`` (and its int8 copy when asked), made
    on a miss.

    Every file appears by an atomic rename of a uniquely named partial one, so two endpoints loading
    the same model at once, or a crash mid-export, never leave a torn file where a reader looks."""
    folder = cache_root / _cache_key(model_path)
    folder.mkdir(parents=True, exist_ok=True)
    exported = folder / _model_file(graph, int8=False)
    if not exported.is_file():
        began = time.perf_counter()
        if graph == "unpadded":
            sample = reference.tokenize(_EXPORT_SAMPLE, "right")
            _write_atomically(exported, lambda target: export_unpadded(reference.encoder, sample, target))
        else:
            _write_atomically(exported, reference.export_onnx)
        (folder / "source.json").write_text(json.dumps({"model": str(model_path)}))
        log.info("exported %s to ONNX in %.1fs: %s", model_path.name, time.perf_counter() - began, exported)
    quantized = folder / _model_file(graph, int8=True)
    if int8 and not quantized.is_file():
        from onnxruntime.quantization import QuantType, quantize_dynamic

        # Per-channel scales keep the bundled model's vectors at cosine 0.99 of float32; per-tensor, 0.86.
        _write_atomically(
            quantized,
            lambda target: quantize_dynamic(exported, target, weight_type=QuantType.QInt8, per_channel=True),
        )
    return folder


def _write_atomically(target: Path, write: Callable[[Path], object]) -> None:
    partial = target.with_name(f"{target.name}.{uuid.uuid4().hex}.partial")
    try:
        write(partial)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def cpu_layout(threads: int) -> tuple[int, int]:
    """How ``threads`` CPU threads serve: (workers running passes at once, threads inside each pass).

    Small encoders split poorly across threads inside one pass: on 2 cores two single-threaded passes
    at once ran 279 sentences/s where one two-threaded pass ran 243 (benchmarks/README.md). Past four
    workers, the wait for a free worker costs more than the parallelism inside a pass, so larger
    machines give each of four workers several threads."""
    workers = max(1, min(threads, _MAX_WORKERS))
    return workers, max(1, threads // workers)


def _session(file: Path, threads: int) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Spinning threads wait for the next pass by burning a core that tokenization and HTTP need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # ONNX Runtime's arena keeps every block it ever grew to and cuts blocks for new shapes out of it;
    # under varied request sizes it grew by hundreds of MB per load run and never shrank
    # (benchmarks/soak.py). Without it, tensors come from malloc and go back to it.
    options.enable_cpu_mem_arena = False
    options.log_severity_level = 3  # warnings about unused initializers are not the user's concern
    return onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])


def _timings(measured: dict[str, float]) -> str:
    return (
        f"torch {measured['torch_s'] * 1000:.0f} ms, onnx {measured['onnx_s'] * 1000:.0f} ms per probe batch"
    )


def _verdict_file(folder: Path, graph: Graph, int8: bool) -> Path:
    return folder / _model_file(graph, int8).replace("model", "verdict", 1).replace(".onnx", ".json")


def _known_verdict(folder: Path, graph: Graph, int8: bool, workers: int) -> dict[str, float] | None:
    """A verdict measured at an earlier load with the same CPU layout; a torch verdict then costs no
    ONNX session at all. One measured for another number of workers is measured again."""
    file = _verdict_file(folder, graph, int8)
    if not file.is_file():
        return None
    found: dict[str, float] = json.loads(file.read_text())
    return found if found.get("onnx_workers") == workers else None


def _measured(
    folder: Path, graph: Graph, int8: bool, reference: SentenceTransformerBackend, candidate: OnnxBackend
) -> dict[str, float]:
    """Parity and speed of this export against torch. Both are facts of the cached files (the cache key
    covers the model's files, torch and the runtime), so they are measured once, beside the export,
    and every later load (restarts, replicas, scale from zero) reads them instead of measuring again."""
    known = _known_verdict(folder, graph, int8, candidate.concurrency)
    if known is not None:
        return known
    verdict = _verdict_file(folder, graph, int8)
    probe = reference.tokenize(_PROBE, "right")
    expected, got = reference.forward(probe), candidate.forward(probe)
    cosine = (expected * got).sum(axis=1) / (
        np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1) + 1e-12
    )
    # A round of mixed lengths as the batcher serves it: each backend's own cut into passes (torch packs
    # them, ONNX pads them), run on as many threads as it serves with; the faster serves under auto.
    texts = [" ".join(["token"] * (4 + (n * 7) % 120)) for n in range(48)]
    tokens = reference.tokenize(texts, "right")

    def run(backend: EmbeddingBackend) -> Callable[[], None]:
        plan = plan_round(
            [len(item.ids) for item in tokens],
            pass_budget(_PROBE_BATCH_TOKENS, backend),
            _PROBE_BATCH_SIZE,
            backend.batch_overhead_tokens,
            packed_token_cost=backend.packed_token_cost,
            packed_row_tokens=backend.packed_row_tokens,
            workers=backend.concurrency,
        )
        passes = [[tokens[i] for i in batch] for batch in plan]

        def every_pass() -> None:
            with ThreadPoolExecutor(backend.concurrency) as workers:
                list(workers.map(backend.forward, passes))

        return every_pass

    measured = {
        "lowest_cosine": float(cosine.min()),
        "torch_s": _best_of(run(reference)),
        "onnx_s": _best_of(run(candidate)),
        "onnx_workers": candidate.concurrency,
    }
    _write_atomically(verdict, lambda target: target.write_text(json.dumps(measured)))
    return measured


def _best_of(run: Callable[[], None], rounds: int = 3) -> float:
    run()  # warm-up: first runs allocate
    best = float("inf")
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return best
