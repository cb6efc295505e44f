"""The floating-point precision an encoder serves in: the choice, the probe it is checked on, and the rule.

``auto`` keeps float32 on the CPU, where reduced precision runs slower. On a CUDA GPU it serves float16
when that gives float32's vectors (cosine >= 0.9999 for every input of a probe batch with padding and
truncation), else bfloat16 under the same floor where the GPU supports it, else float32. A precision
asked for by name is honoured on any device; its measured agreement is logged all the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

Precision = Literal["auto", "float32", "float16", "bfloat16"]
PRECISION_CHOICES: tuple[Precision, ...] = ("auto", "float32", "float16", "bfloat16")
Reduced = Literal["float16", "bfloat16"]
PRECISION_FLOOR_COSINE = 0.9999  # the floor ONNX exports are held to (see ``onnx_st``)


@dataclass(frozen=True)
class PrecisionChoice:
    """The dtype a model serves in and why, for the log."""

    dtype: Literal["float32", "float16", "bfloat16"]
    reason: str
    lowest_cosine: float | None = None  # of the served dtype's vectors to float32's; None when not measured


def choose_precision(
    asked: Precision, device: str, measure: Callable[[Reduced], float], *, bf16_supported: bool
) -> PrecisionChoice:
    """The precision to serve in on ``device`` (a torch device type such as ``cpu`` or ``cuda``).

    ``measure(dtype)`` gives the lowest cosine, over the probe batch, of the vectors the model gives in
    ``dtype`` to those it gives in float32; it is called only for the candidates this rule tries.
    """
    if asked == "float32":
        return PrecisionChoice("float32", "float32: asked for")
    if asked != "auto":
        lowest = measure(asked)
        return PrecisionChoice(asked, f"{asked}: asked for; lowest cosine to float32 {lowest:.6f}", lowest)
    if device != "cuda":
        return PrecisionChoice("float32", f"float32: auto on {device}, where reduced precision is slower")
    rejected: list[str] = []
    candidates: tuple[Reduced, ...] = ("float16", "bfloat16") if bf16_supported else ("float16",)
    for dtype in candidates:
        lowest = measure(dtype)
        if lowest >= PRECISION_FLOOR_COSINE:  # NaN (an overflow) fails this too
            tried = "".join(f"{note}; " for note in rejected)
            return PrecisionChoice(dtype, f"{dtype}: {tried}lowest cosine to float32 {lowest:.6f}", lowest)
        rejected.append(f"{dtype}'s lowest cosine to float32 {lowest:.6f} < {PRECISION_FLOOR_COSINE}")
    if not bf16_supported:
        rejected.append("bfloat16 is not supported by this GPU")
    return PrecisionChoice("float32", f"float32: {'; '.join(rejected)}")


def probe_texts(max_length: int) -> list[str]:
    """Inputs of very different lengths (so rows are padded) and one longer than the model takes (so it
    is truncated)."""
    return [
        "x",
        "a short one",
        "Padding and truncation both happen in this probe batch, so a reduced precision is checked on "
        "the cases real traffic brings.",
        "word " * (max_length + 16),
    ]


def lowest_cosine(expected: npt.NDArray[np.float32], got: npt.NDArray[np.float32]) -> float:
    """The smallest cosine between matching rows of ``expected`` and ``got``."""
    expected64, got64 = expected.astype(np.float64), got.astype(np.float64)
    norms = np.linalg.norm(expected64, axis=1) * np.linalg.norm(got64, axis=1)
    return float(((expected64 * got64).sum(axis=1) / np.maximum(norms, 1e-12)).min())
