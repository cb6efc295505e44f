"""The endpoints this server runs. For now the set is fixed at start-up; lifecycle management comes later."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from inferhouse.engine.embedder import Embedder
from inferhouse.engine.pool import ModelPool
from inferhouse.errors import EndpointNotFound


class Task(StrEnum):
    SENTENCE_EMBEDDINGS = "sentence-embeddings"
    FEATURE_EXTRACTION = "feature-extraction"
    SENTENCE_SIMILARITY = "sentence-similarity"


@dataclass(frozen=True)
class Endpoint:
    name: str
    model_id: str
    task: Task


class EndpointRegistry:
    def __init__(self, pool: ModelPool) -> None:
        self._pool = pool
        self._endpoints: dict[str, Endpoint] = {}

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self._endpoints.values())

    async def add(self, endpoint: Endpoint) -> None:
        """Register an endpoint and load its model, pinned so it is never unloaded."""
        await self._pool.get(endpoint.model_id, wait=True, pin=True)
        self._endpoints[endpoint.name] = endpoint

    def get(self, name: str) -> Endpoint:
        endpoint = self._endpoints.get(name)
        if endpoint is None:
            raise EndpointNotFound(f"Endpoint {name} not found")
        return endpoint

    async def embedder(self, name: str) -> tuple[Endpoint, Embedder]:
        endpoint = self.get(name)
        return endpoint, await self._pool.get(endpoint.model_id, wait=True)
