"""Request-level embedding: options, prompts, the cache, then the batcher, then post-processing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import EmbeddingBackend, ModelFacts, TruncationDirection
from inferhouse.engine.batcher import Batcher
from inferhouse.engine.cache import CachedEmbedding, EmbeddingCache
from inferhouse.engine.runtime import BatchingRuntime
from inferhouse.errors import InputTooLong, ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings


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
    """The face of one loaded embedding model: ``facts`` about it, and the ``runtime`` whose replicas
    merge requests into forward passes (in this process, or on a cluster)."""

    def __init__(
        self,
        model_id: str,
        facts: ModelFacts,
        runtime: BatchingRuntime,
        cache: EmbeddingCache,
        on_cache: Callable[[int, int], None] | None = None,
    ) -> None:
        self.model_id = model_id
        self.facts = facts
        self.runtime = runtime
        self.cache = cache
        self._on_cache = on_cache

    def close(self) -> None:
        self.runtime.close()

    async def embed(self, texts: Sequence[str], options: EmbedOptions) -> Embeddings:
        self._check(options)
        prompt = self.facts.prompts.get(options.prompt_name, "") if options.prompt_name else ""
        inputs = [prompt + text for text in texts] if prompt else list(texts)
        raw = np.empty((len(inputs), self.facts.dimension), dtype=np.float32)
        tokens = [0] * len(inputs)
        misses = self._from_cache(inputs, options, raw, tokens)
        if misses:
            output = await self.runtime.embed(
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
        if options.prompt_name is not None and options.prompt_name not in self.facts.prompts:
            known = ", ".join(sorted(self.facts.prompts)) or "none"
            raise ValidationFailed(f"Unknown prompt_name {options.prompt_name!r}; this model has: {known}")
        if options.dimensions is not None and not 1 <= options.dimensions <= self.facts.dimension:
            raise ValidationFailed(
                f"dimensions must be between 1 and {self.facts.dimension}, got {options.dimensions}"
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
                    f"{self.facts.max_input_length} tokens and truncate is false"
                )
            raw[index] = entry.vector
            tokens[index] = entry.tokens
        if self._on_cache is not None:
            self._on_cache(len(inputs) - len(misses), len(misses))
        return misses

    def _finish(self, raw: npt.NDArray[np.float32], options: EmbedOptions) -> npt.NDArray[np.float32]:
        vectors = raw[:, : options.dimensions] if options.dimensions else raw
        normalize = self.facts.normalizes if options.normalize is None else options.normalize
        if normalize:
            norms = np.linalg.norm(vectors, axis=1, keepdims=True)
            vectors = vectors / np.maximum(norms, 1e-12)
        return np.ascontiguousarray(vectors, dtype=np.float32)


async def sentence_similarity(
    embedder: Embedder, source: str, sentences: list[str], options: EmbedOptions
) -> list[float]:
    """Cosine similarity of ``source`` to each sentence, in the order given."""
    result = await embedder.embed([source, *sentences], replace(options, normalize=True))
    scores = result.vectors[1:] @ result.vectors[0]
    return [float(score) for score in scores]


def batching_options(settings: Settings, max_queue_seconds: float | None = None) -> dict[str, Any]:
    """The batcher's keywords the server's settings give (``max_queue_seconds`` overrides the setting
    of that name, for an endpoint with its own bound)."""
    return {
        "max_batch_tokens": settings.max_batch_tokens,
        "max_batch_size": settings.max_batch_size,
        "max_queued_inputs": settings.max_queued_inputs,
        "max_wait_s": settings.max_batch_wait_ms / 1000,
        "max_queue_s": settings.max_queue_seconds if max_queue_seconds is None else max_queue_seconds,
    }


def build_embedder(
    label: str,
    replicas: list[EmbeddingBackend],
    settings: Settings,
    metrics: Metrics,
    max_queue_seconds: float | None = None,
    build: Callable[[], EmbeddingBackend] | None = None,
) -> Embedder:
    """An embedder over ``replicas`` (copies of a model serving one queue in this process), named
    ``label`` in metrics (each replica's work too); ``build`` makes the copies a later scale adds
    (``embedder.runtime.scale``)."""
    batcher = Batcher(
        replicas,
        on_batch=partial(metrics.observe_batch, label),
        on_work=partial(metrics.observe_replica, label),
        name=label,
        build=build,
        **batching_options(settings, max_queue_seconds),
    )
    return embedder_over(label, replicas[0], batcher, settings, metrics)


def embedder_over(
    label: str, facts: ModelFacts, runtime: BatchingRuntime, settings: Settings, metrics: Metrics
) -> Embedder:
    """An embedder of the model ``facts`` describe, whose replicas ``runtime`` runs, with its own cache."""
    cache = EmbeddingCache(settings.cache_bytes)
    return Embedder(label, facts, runtime, cache, partial(metrics.observe_cache, label))
