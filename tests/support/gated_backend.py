"""A real embedding backend behind a gate: tests hold a forward pass where they need to, to make the
batcher's timing deterministic without sleeping."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np

from inferhouse.engine.backends.base import TokenizedText
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend


class GatedBackend:
    """Delegates to ``inner``; each forward pass signals ``entered`` and waits for ``gate`` (closed
    unless ``open_gate``); ``passes`` records the inputs in each pass."""

    def __init__(self, inner: SentenceTransformerBackend, *, open_gate: bool = False) -> None:
        self.inner = inner
        self.dimension = inner.dimension
        self.max_input_length = inner.max_input_length
        self.normalizes = inner.normalizes
        self.prompts = inner.prompts
        self.dtype = inner.dtype
        self.loaded_as = inner.loaded_as
        self.batch_overhead_tokens = inner.batch_overhead_tokens
        self.packed_token_cost = inner.packed_token_cost
        self.packed_row_tokens = inner.packed_row_tokens
        self.concurrency = 1
        self.max_pass_tokens = inner.max_pass_tokens
        self.entered = threading.Event()
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self.passes: list[int] = []

    def tokenize(self, texts: Sequence[str], direction: str) -> list[TokenizedText]:
        return self.inner.tokenize(texts, direction)  # type: ignore[arg-type]

    def forward(self, batch: Sequence[TokenizedText]) -> np.ndarray:
        self.entered.set()
        assert self.gate.wait(timeout=30), "the test never opened the gate"
        self.passes.append(len(batch))
        self.on_pass(batch)
        return self.inner.forward(batch)

    def on_pass(self, batch: Sequence[TokenizedText]) -> None:
        """Called inside each pass, after the gate: subclasses add time or failures here."""
