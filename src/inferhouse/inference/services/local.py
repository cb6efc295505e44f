"""The ``inferhouse`` service: one of this server's own endpoints, called in process (no HTTP hop)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from inferhouse.endpoints.serving import Resolver
from inferhouse.engine.embedder import EmbedOptions
from inferhouse.errors import SettingsInvalid, TaskMismatch
from inferhouse.inference.config import InferenceConfig, TaskType, unknown_settings
from inferhouse.inference.replies import RankedText
from inferhouse.inference.services import InferenceRunner, ParsedSettings
from inferhouse.inference.services._settings import SettingsReader

SERVICE_NAME = "inferhouse"


class LocalService:
    name = SERVICE_NAME
    task_types = frozenset({TaskType.TEXT_EMBEDDING, TaskType.RERANK})

    def __init__(self, serving: Resolver) -> None:
        self._serving = serving

    def parse(self, task_type: TaskType, settings: dict[str, Any]) -> ParsedSettings:
        reader = SettingsReader(settings)
        endpoint = reader.required_string("endpoint")
        public: dict[str, Any] = {"endpoint": endpoint}
        if task_type is TaskType.TEXT_EMBEDDING:
            public["similarity"] = reader.similarity() or "cosine"
            dimensions = reader.positive_int("dimensions")
            if dimensions is not None:
                public["dimensions"] = dimensions
        if settings:
            reader.problems.append(unknown_settings(settings, self.name))
        if reader.problems:
            raise SettingsInvalid(reader.problems)
        return ParsedSettings(public, None)

    def runner(self, config: InferenceConfig, secret: str | None) -> InferenceRunner:
        return EndpointRunner(self._serving, str(config.service_settings["endpoint"]))


class EndpointRunner:
    """Runs on a named endpoint, waking it if it was scaled to zero (a registry call has no client to
    retry a 503 for it)."""

    def __init__(self, serving: Resolver, name: str) -> None:
        self._serving = serving
        self.name = name

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors, _ = await self.embed_counted(texts)
        return vectors

    async def embed_counted(self, texts: Sequence[str]) -> tuple[list[list[float]], int]:
        """The vectors and the number of tokens the model read (for usage reports)."""
        async with self._serving.endpoint(self.name, wait=True) as deployment:
            if not deployment.embeds:
                raise TaskMismatch(
                    f"Endpoint [{self.name}] serves task [{deployment.task}]; "
                    "the [text_embedding] task type needs an embedding endpoint"
                )
            result = await deployment.embed(texts, EmbedOptions())
            vectors: list[list[float]] = result.vectors.tolist()
            return vectors, result.prompt_tokens

    async def rerank(
        self, query: str, texts: Sequence[str], top_n: int | None = None, return_documents: bool = False
    ) -> list[RankedText]:
        async with self._serving.endpoint(self.name, wait=True) as deployment:
            if not deployment.ranks:
                raise TaskMismatch(
                    f"Endpoint [{self.name}] serves task [{deployment.task}]; "
                    "the [rerank] task type needs a sentence-ranking endpoint"
                )
            ranked = await deployment.rank(
                query, list(texts), raw_scores=False, return_text=return_documents, truncate=True
            )
        found = [RankedText(int(item["index"]), float(item["score"]), item.get("text")) for item in ranked]
        found.sort(key=lambda item: item.score, reverse=True)
        return found[:top_n] if top_n is not None else found

    async def complete(self, messages: Sequence[Mapping[str, Any]], **parameters: Any) -> str:
        raise TaskMismatch(
            f"Endpoint [{self.name}] does not serve text generation; "
            "the [completion] task type needs a text-generation endpoint"
        )
