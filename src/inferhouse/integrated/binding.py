"""What an integrated index embeds with: an inference configuration or one of our endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from inferhouse.auth import Principal
from inferhouse.chunking import ChunkingSettings, parse_chunking_settings
from inferhouse.endpoints.config import Access
from inferhouse.endpoints.serving import Resolver
from inferhouse.errors import BadRequest, EndpointNotFound
from inferhouse.inference.config import InferenceConfig, TaskType
from inferhouse.inference.registry import InferenceRegistry
from inferhouse.inference.services import InferenceRunner
from inferhouse.inference.services.local import EndpointRunner

# Metadata keys a chunk carries beside the record's own fields; records may not use them.
RECORD_ID = "_record_id"
CHUNK = "_chunk"
START = "_start_offset"
END = "_end_offset"
RESERVED_FIELDS = frozenset({RECORD_ID, CHUNK, START, END})


@dataclass(frozen=True)
class Binding:
    model: str
    text_field: str
    runner: InferenceRunner
    chunking: ChunkingSettings


async def embed_counted(
    runner: InferenceRunner, texts: Sequence[str]
) -> tuple[list[list[float]], int | None]:
    """The vectors and the tokens the model read, where it says (our endpoints do; remote services don't)."""
    if isinstance(runner, EndpointRunner):
        return await runner.embed_counted(texts)
    return await runner.embed(texts), None


class Models:
    """Resolves a model name: an inference id first, then an endpoint name."""

    def __init__(self, inference: InferenceRegistry, serving: Resolver) -> None:
        self.inference = inference
        self.serving = serving
        self.endpoints = serving.endpoints

    def embedder(self, model: str) -> tuple[InferenceRunner, ChunkingSettings | None, int | None]:
        """The runner, the model's own chunking (if it has one) and its known dimension (if known)."""
        if model in self.inference:
            config = self.inference.get(model)
            if config.task_type is not TaskType.TEXT_EMBEDDING:
                raise BadRequest(
                    f"Model '{model}' is a {config.task_type.value} inference endpoint; "
                    "an index embeds with a text_embedding one"
                )
            dimension = config.service_settings.get("dimensions")
            return self.inference.runner(model), config.chunking, dimension
        return EndpointRunner(self.serving, self._endpoint(model)), None, None

    def endpoint_behind(self, model: str) -> str | None:
        """The endpoint of this server that ``model`` runs on, if it runs on one in process."""
        if model in self.inference:
            return self.inference.endpoint_of(self.inference.get(model))
        return model if model in self.endpoints.names() else None

    def authorize(self, model: str, principal: Principal | None) -> None:
        """Calling an endpoint through a model name needs the same right as calling it directly, so a
        private endpoint cannot be reached through an inference configuration or an index."""
        self._authorize_endpoint(self.endpoint_behind(model), principal)

    def authorize_config(self, config: InferenceConfig, principal: Principal | None) -> None:
        """The same rule for a configuration about to be created (before its probe calls anything)."""
        self._authorize_endpoint(self.inference.endpoint_of(config), principal)

    def _authorize_endpoint(self, endpoint: str | None, principal: Principal | None) -> None:
        if endpoint is not None and self.serving.is_endpoint(endpoint):
            self.serving.authorize(endpoint, principal)

    def ranker(self, model: str) -> InferenceRunner:
        if model in self.inference:
            config = self.inference.get(model)
            if config.task_type is not TaskType.RERANK:
                raise BadRequest(
                    f"Model '{model}' is a {config.task_type.value} inference endpoint, not rerank"
                )
            return self.inference.runner(model)
        return EndpointRunner(self.serving, self._endpoint(model))

    def _endpoint(self, model: str) -> str:
        try:
            self.endpoints.get(model)
        except EndpointNotFound:
            # Private endpoints are not named: the caller may not be granted them.
            callable_by_many = {
                record.config.name for record in self.endpoints if record.config.access is not Access.PRIVATE
            }
            known = sorted({config.inference_id for config in self.inference.list()} | callable_by_many)
            raise BadRequest(
                f"Model '{model}' not found: name an inference endpoint or an endpoint of this server "
                f"(known: {', '.join(known) or 'none'})"
            ) from None
        return model

    def binding(self, embed: dict[str, Any]) -> Binding:
        """The binding an index stored at creation (its ``embed`` block)."""
        runner, _, _ = self.embedder(str(embed["model"]))
        return Binding(
            model=str(embed["model"]),
            text_field=str(embed["field_map"]["text"]),
            runner=runner,
            chunking=parse_chunking_settings(embed.get("chunking_settings")),  # None: the default
        )
