"""Text generation: the contract the HTTP dialects use, and the continuous-batching engine behind it."""

from __future__ import annotations

from inferhouse.engine.generation.contract import (
    FinishReason,
    GeneratedToken,
    GenerationLimits,
    GenerationParams,
    GenerationResult,
    GenerationStream,
    TextGenerator,
)
from inferhouse.engine.generation.loading import GENERATION_AUTO_CLASSES, load_text_generator

__all__ = [
    "GENERATION_AUTO_CLASSES",
    "FinishReason",
    "GeneratedToken",
    "GenerationLimits",
    "GenerationParams",
    "GenerationResult",
    "GenerationStream",
    "TextGenerator",
    "load_text_generator",
]
