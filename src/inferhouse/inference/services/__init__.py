"""The services an inference configuration can name, behind one small interface.

A service reads its ``service_settings`` (keeping any secret apart) and, given a stored configuration
and its secret, builds the runner that does the work. ``hugging_face`` calls a URL over HTTP;
``inferhouse`` runs on one of this server's endpoints in process.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from inferhouse.inference.config import InferenceConfig, TaskType
from inferhouse.inference.replies import RankedText

__all__ = ["InferenceRunner", "InferenceService", "ParsedSettings", "RankedText"]


@dataclass(frozen=True)
class ParsedSettings:
    public: dict[str, Any]  # stored and shown
    secret: str | None  # stored encrypted, never shown


class InferenceRunner(Protocol):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...

    async def rerank(
        self, query: str, texts: Sequence[str], top_n: int | None = None, return_documents: bool = False
    ) -> list[RankedText]: ...

    async def complete(self, messages: Sequence[Mapping[str, Any]], **parameters: Any) -> str: ...


class InferenceService(Protocol):
    name: str
    task_types: frozenset[TaskType]

    def parse(self, task_type: TaskType, settings: dict[str, Any]) -> ParsedSettings:
        """Validate ``settings`` (consumed) and split off the secret; raises SettingsInvalid."""
        ...

    def runner(self, config: InferenceConfig, secret: str | None) -> InferenceRunner: ...
