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
    batch_overhead_tokens: int
    # Relative cost of a token in a packed row (no padding, wider attention); 0 when it cannot pack.
    packed_token_cost: float

    def tokenize(self, texts: Sequence[str], direction: TruncationDirection) -> list[TokenizedText]: ...

    def forward(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]: ...
