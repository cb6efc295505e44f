"""What one named inference configuration is: its task type, the service it calls and how it chunks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from inferhouse.chunking import ChunkingSettings, parse_chunking_settings
from inferhouse.errors import BadRequest, SettingsInvalid

# Elasticsearch's rule for inference ids; we also cap the length so ids stay usable in URLs and logs.
INFERENCE_ID = r"^[a-z0-9](?:[a-z0-9_.-]{0,253}[a-z0-9])?$"
_INFERENCE_ID = re.compile(INFERENCE_ID)


class TaskType(StrEnum):
    TEXT_EMBEDDING = "text_embedding"
    SPARSE_EMBEDDING = "sparse_embedding"
    RERANK = "rerank"
    COMPLETION = "completion"
    CHAT_COMPLETION = "chat_completion"


CHUNKED_TASKS = frozenset({TaskType.TEXT_EMBEDDING, TaskType.SPARSE_EMBEDDING})


def parse_task_type(value: str) -> TaskType:
    try:
        return TaskType(value.lower())
    except ValueError:
        raise BadRequest(f"Unknown task_type [{value}]") from None


def check_inference_id(inference_id: str) -> None:
    if not _INFERENCE_ID.fullmatch(inference_id):
        raise SettingsInvalid(
            f"Invalid inference_id [{inference_id}]; must contain only lowercase alphanumeric (a-z and 0-9), "
            "hyphens, underscores or dots; must start and end with alphanumeric"
        )


@dataclass(frozen=True)
class NewInference:
    """A configuration to create, as a dialect read it; its service reads ``service_settings``."""

    inference_id: str
    task_type: TaskType
    service: str
    service_settings: dict[str, Any]
    task_settings: dict[str, Any] = field(default_factory=dict)
    chunking: ChunkingSettings | None = None


@dataclass
class InferenceConfig:
    """A stored configuration. ``service_settings`` is what GET shows: the secret is kept apart."""

    inference_id: str
    task_type: TaskType
    service: str
    service_settings: dict[str, Any]
    task_settings: dict[str, Any] = field(default_factory=dict)
    chunking: ChunkingSettings | None = None

    def to_json(self) -> dict[str, Any]:
        """What the store keeps; Elasticsearch's reply is the dialect's (``api/elasticsearch``)."""
        data: dict[str, Any] = {
            "inference_id": self.inference_id,
            "task_type": self.task_type.value,
            "service": self.service,
            "service_settings": self.service_settings,
        }
        if self.task_settings:
            data["task_settings"] = self.task_settings
        if self.chunking is not None:
            data["chunking_settings"] = self.chunking.as_dict()
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InferenceConfig:
        chunking = data.get("chunking_settings")
        return cls(
            inference_id=data["inference_id"],
            task_type=TaskType(data["task_type"]),
            service=data["service"],
            service_settings=dict(data["service_settings"]),
            task_settings=dict(data.get("task_settings") or {}),
            chunking=parse_chunking_settings(chunking) if chunking is not None else None,
        )


def unknown_settings(settings: dict[str, Any], service: str) -> str:
    """Elasticsearch's sentence for settings left over after a service took the ones it knows."""
    listed = ", ".join(f"{key}={_java_style(value)}" for key, value in settings.items())
    return f"Model configuration contains settings [{{{listed}}}] unknown to the [{service}] service"


def _java_style(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}={_java_style(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_style(item) for item in value) + "]"
    return str(value)
