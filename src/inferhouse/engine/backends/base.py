"""The contract every embedding backend meets."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

TruncationDirection = Literal["right", "left"]


@dataclass(frozen=True, slots=True)
class TokenizedText:
    """One input after tokenization, already cut to the model's maximum length."""

    ids: list[int]
    type_ids: list[int]
    truncated: bool


@dataclass(frozen=True, slots=True)
class PaddedBatch:
    """Inputs side by side in rows as wide as the longest, padded at the end (int64, as encoders take)."""

    input_ids: npt.NDArray[np.int64]
    attention_mask: npt.NDArray[np.int64]
    token_type_ids: npt.NDArray[np.int64]

    @classmethod
    def of(cls, batch: Sequence[TokenizedText], pad_id: int) -> PaddedBatch:
        width = max(len(item.ids) for item in batch)
        ids = np.full((len(batch), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        types = np.zeros((len(batch), width), dtype=np.int64)
        for row, item in enumerate(batch):
            n = len(item.ids)
            ids[row, :n] = item.ids
            mask[row, :n] = 1
            types[row, :n] = item.type_ids
        return cls(ids, mask, types)


class ModelFacts(Protocol):
    """What callers of an embedding model read of it, wherever its copies run."""

    @property
    def dimension(self) -> int: ...
    @property
    def max_input_length(self) -> int: ...
    @property
    def normalizes(self) -> bool: ...
    @property
    def prompts(self) -> Mapping[str, str]: ...
    @property
    def dtype(self) -> str: ...
    @property
    def loaded_as(self) -> str:
        """The backend that serves and why ("onnx: ...", "torch: asked for"), for operators."""
        ...


class EmbeddingBackend(Protocol):
    """Turns tokenized texts into one pooled vector each.

    ``forward`` returns the vectors *before* any final normalisation the model applies, so callers can
    honour ``normalize=false``; ``normalizes`` says whether the model's own pipeline would normalise.
    """

    dimension: int
    max_input_length: int
    normalizes: bool
    prompts: Mapping[str, str]
    dtype: str
    loaded_as: str  # which backend serves and why, set by the loader
    batch_overhead_tokens: int
    # Relative cost of a token in a packed row (no padding, wider attention); 0 when it cannot pack.
    packed_token_cost: float
    packed_row_tokens: int  # the width of a packed row; a longer input is never packed (0: no limit)
    # Forward passes that may usefully run at once, each on its own thread (1: one at a time).
    concurrency: int
    # Tokens past which a longer pass gets slower per token (its activations leave the CPU's caches);
    # the batcher cuts passes under it as well as under its own budget. 0: no such point.
    max_pass_tokens: int

    def tokenize(self, texts: Sequence[str], direction: TruncationDirection) -> list[TokenizedText]: ...

    def forward(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]: ...
