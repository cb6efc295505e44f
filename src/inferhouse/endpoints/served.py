"""What a loaded model offers, by family: the operations a deployment forwards to it.

Each family implements the operations its tasks answer and leaves the rest to :class:`Served`, whose
defaults refuse. Nothing above ``endpoints/`` reaches the engine objects behind these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from inferhouse.engine.backends.base import ModelFacts
from inferhouse.engine.embedder import Embedder, Embeddings, EmbedOptions, sentence_similarity
from inferhouse.engine.generation import TextGenerator
from inferhouse.engine.pipelines.base import Ranker, TaskModel
from inferhouse.engine.runtime import Runtime

T = TypeVar("T")


class Unsupported(Exception):
    """Raised by a default operation; the deployment turns it into a TaskMismatch naming itself."""

    def __init__(self, operation: str, needs: str) -> None:
        super().__init__(operation)
        self.operation = operation
        self.needs = needs


_EMBEDDING = "an embedding task (sentence-embeddings, feature-extraction, sentence-similarity)"
_RANKING = "a sentence-ranking endpoint"
_GENERATION = "a text-generation or text2text-generation endpoint"
_PIPELINE = "a pipeline, text-to-image or custom endpoint"


class Served:
    """The operations of one loaded model; every one refuses unless its family implements it."""

    @property
    def replicas(self) -> int:
        return 0

    @property
    def ranks(self) -> bool:
        """Whether :meth:`rank` answers (a cross-encoder among the pipeline models)."""
        return False

    @property
    def embeds(self) -> bool:
        return False

    async def embed(self, texts: Sequence[str], options: EmbedOptions) -> Embeddings:
        raise Unsupported("embeddings", _EMBEDDING)

    async def similarity(self, source: str, sentences: list[str], options: EmbedOptions) -> list[float]:
        raise Unsupported("sentence similarity", _EMBEDDING)

    async def rank(
        self, query: str, texts: Sequence[str], *, raw_scores: bool, return_text: bool, truncate: bool
    ) -> list[dict[str, Any]]:
        raise Unsupported("ranking", _RANKING)

    async def predict(self, body: Mapping[str, Any], shape: Callable[[Any], T] | None = None) -> Any:
        raise Unsupported("this request", _PIPELINE)

    def text_generator(self) -> TextGenerator:
        raise Unsupported("text generation", _GENERATION)

    def embedding_facts(self) -> ModelFacts:
        raise Unsupported("embeddings", _EMBEDDING)

    def queued(self) -> int:
        """Inputs waiting for a replica (for metrics)."""
        return 0

    def runtime(self) -> Runtime[Any] | None:
        """Where the replicas run, to scale them; None for a family that keeps one copy."""
        return None

    def close(self) -> None:
        """Stop once every call accepted so far is answered."""


class Embedding(Served):
    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    @property
    def replicas(self) -> int:
        return self._embedder.runtime.replicas

    @property
    def embeds(self) -> bool:
        return True

    async def embed(self, texts: Sequence[str], options: EmbedOptions) -> Embeddings:
        return await self._embedder.embed(texts, options)

    async def similarity(self, source: str, sentences: list[str], options: EmbedOptions) -> list[float]:
        return await sentence_similarity(self._embedder, source, sentences, options)

    def embedding_facts(self) -> ModelFacts:
        return self._embedder.facts

    def queued(self) -> int:
        return self._embedder.runtime.queued_inputs

    def runtime(self) -> Runtime[Any] | None:
        return self._embedder.runtime

    def close(self) -> None:
        self._embedder.close()


class Generation(Served):
    """One generator per deployment: it batches concurrent requests into shared decoding steps."""

    def __init__(self, generator: TextGenerator) -> None:
        self._generator = generator

    @property
    def replicas(self) -> int:
        return 1

    def text_generator(self) -> TextGenerator:
        return self._generator

    def close(self) -> None:
        self._generator.close()


class Pipeline(Served):
    """Task models (pipelines, cross-encoders, diffusers, custom handlers) called one body at a time."""

    def __init__(self, runner: Runtime[TaskModel], *, ranks: bool) -> None:
        self._runner = runner
        self._ranks = ranks  # read by the loader once: a runtime scaled to zero has no copy left to ask

    @property
    def replicas(self) -> int:
        return self._runner.replicas

    @property
    def ranks(self) -> bool:
        return self._ranks

    async def rank(
        self, query: str, texts: Sequence[str], *, raw_scores: bool, return_text: bool, truncate: bool
    ) -> list[dict[str, Any]]:
        if not self.ranks:
            raise Unsupported("ranking", _RANKING)

        def run(model: TaskModel) -> list[dict[str, Any]]:
            assert isinstance(model, Ranker)
            return model.rank(
                query, list(texts), raw_scores=raw_scores, return_text=return_text, truncate=truncate
            )

        return await self._runner.call(run)

    async def predict(self, body: Mapping[str, Any], shape: Callable[[Any], T] | None = None) -> Any:
        """The model's reply to ``body``; ``shape`` runs on the replica's thread too (encoding an
        image, say), off the event loop."""
        if shape is None:
            return await self._runner.call(lambda model: model(body))
        finish = shape
        return await self._runner.call(lambda model: finish(model(body)))

    def queued(self) -> int:
        return self._runner.health().queued

    def runtime(self) -> Runtime[Any] | None:
        return self._runner

    def close(self) -> None:
        self._runner.stop()
