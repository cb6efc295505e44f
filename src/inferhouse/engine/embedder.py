"""Request-level embedding: options, prompts, the cache, then the batcher, then post-processing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import EmbeddingBackend, TruncationDirection
from inferhouse.engine.batcher import Batcher
from inferhouse.engine.cache import CachedEmbedding, EmbeddingCache
from inferhouse.errors import InputTooLong, ValidationFailed


@dataclass(frozen=True, slots=True)
class EmbedOptions:
    """What a caller may ask of one embedding request; ``normalize=None`` means the model's own habit."""

    normalize: bool | None = None
    truncate: bool = True
    truncation_direction: TruncationDirection = "right"
    prompt_name: str | None = None
    dimensions: int | None = None
    use_cache: bool = True


@dataclass(frozen=True, slots=True)
class Embeddings:
    vectors: npt.NDArray[np.float32]
    prompt_tokens: int


class Embedder:
    """The face of one loaded embedding model."""

    def __init__(
        self,
        model_id: str,
        backend: EmbeddingBackend,
        batcher: Batcher,
        cache: EmbeddingCache,
        on_cache: Callable[[int, int], None] | None = None,
    ) -> None:
        self.model_id = model_id
        self.backend = backend
        self.batcher = batcher
        self.cache = cache
        self._on_cache = on_cache

    def close(self) -> None:
        self.batcher.close()

    async def embed(self, texts: Sequence[str], options: EmbedOptions) -> Embeddings:
        self._check(options)
        prompt = self.backend.prompts.get(options.prompt_name, "") if options.prompt_name else ""
        inputs = [prompt + text for text in texts] if prompt else list(texts)
        raw = np.empty((len(inputs), self.backend.dimension), dtype=np.float32)
        tokens = [0] * len(inputs)
        misses = self._from_cache(inputs, options, raw, tokens)
        if misses:
            output = await self.batcher.embed(
                [inputs[i] for i in misses], options.truncation_direction, options.truncate
            )
            for row, index in enumerate(misses):
                raw[index] = output.vectors[row]
                tokens[index] = output.tokens[row]
                if self.cache.max_bytes:
                    entry = CachedEmbedding(
                        output.vectors[row].copy(), output.tokens[row], output.truncated[row]
                    )
                    self.cache.put((inputs[index], options.truncation_direction), entry)
        return Embeddings(self._finish(raw, options), sum(tokens))

    def _check(self, options: EmbedOptions) -> None:
        if options.prompt_name is not None and options.prompt_name not in self.backend.prompts:
            known = ", ".join(sorted(self.backend.prompts)) or "none"
            raise ValidationFailed(f"Unknown prompt_name {options.prompt_name!r}; this model has: {known}")
        if options.dimensions is not None and not 1 <= options.dimensions <= self.backend.dimension:
            raise ValidationFailed(
                f"dimensions must be between 1 and {self.backend.dimension}, got {options.dimensions}"
            )

    def _from_cache(
        self, inputs: list[str], options: EmbedOptions, raw: npt.NDArray[np.float32], tokens: list[int]
    ) -> list[int]:
        if not (options.use_cache and self.cache.max_bytes):
            return list(range(len(inputs)))
        misses: list[int] = []
        for index, text in enumerate(inputs):
            entry = self.cache.get((text, options.truncation_direction))
            if entry is None:
                misses.append(index)
                continue
            if entry.truncated and not options.truncate:
                raise InputTooLong(
                    f"Input {index} is longer than the model's maximum of "
                    f"{self.backend.max_input_length} tokens and truncate is false"
                )
            raw[index] = entry.vector
            tokens[index] = entry.tokens
        if self._on_cache is not None:
            self._on_cache(len(inputs) - len(misses), len(misses))
        return misses

    def _finish(self, raw: npt.NDArray[np.float32], options: EmbedOptions) -> npt.NDArray[np.float32]:
        vectors = raw[:, : options.dimensions] if options.dimensions else raw
        normalize = self.backend.normalizes if options.normalize is None else options.normalize
        if normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return np.ascontiguousarray(vectors, dtype=np.float32)
