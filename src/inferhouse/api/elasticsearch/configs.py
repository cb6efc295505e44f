"""An inference configuration on Elasticsearch's wire: the ``PUT`` body read, and the object GET and PUT
answer. The registry (``inference/registry.py``) stores and runs what this reads; each service reads its
own ``service_settings``, which are stored as they are and mean the same whoever sends them."""

from __future__ import annotations

from typing import Any

from inferhouse.chunking import DEFAULT_CHUNKING, parse_chunking_settings
from inferhouse.errors import SettingsInvalid
from inferhouse.inference.config import (
    CHUNKED_TASKS,
    InferenceConfig,
    NewInference,
    TaskType,
    check_inference_id,
    parse_task_type,
    unknown_settings,
)
from inferhouse.inference.registry import InferenceRegistry


def endpoint_reply(config: InferenceConfig) -> dict[str, Any]:
    """The object Elasticsearch returns for an inference endpoint."""
    body: dict[str, Any] = {
        "inference_id": config.inference_id,
        "task_type": config.task_type.value,
        "service": config.service,
        "service_settings": config.service_settings,
    }
    if config.task_settings:
        body["task_settings"] = config.task_settings
    if config.chunking is not None:
        body["chunking_settings"] = config.chunking.as_dict()
    return body


def read_create(
    registry: InferenceRegistry, task_type_name: str, inference_id: str, body: dict[str, Any]
) -> NewInference:
    """``PUT /_inference/{task_type}/{inference_id}``'s body, refused in Elasticsearch's order and words."""
    task_type = parse_task_type(task_type_name)
    check_inference_id(inference_id)
    body = dict(body)
    name = body.pop("service", None)
    if name is None:
        raise SettingsInvalid("Model configuration is missing [service]")
    service = registry.service_for(str(name), task_type, inference_id)
    service_settings = body.pop("service_settings", None)
    if not isinstance(service_settings, dict):
        raise SettingsInvalid("[service_settings] must be an object holding the service's settings")
    task_settings = _task_settings(task_type, body.pop("task_settings", None))
    chunking = None
    if "chunking_settings" in body:
        raw_chunking = body.pop("chunking_settings")
        if task_type not in CHUNKED_TASKS:
            raise SettingsInvalid(
                f"Chunking settings can not be set for the [{task_type.value}] task type; "
                "only text_embedding and sparse_embedding chunk their input"
            )
        if raw_chunking is not None and not isinstance(raw_chunking, dict):
            raise SettingsInvalid("[chunking_settings] must be an object")
        chunking = parse_chunking_settings(raw_chunking)
    elif task_type in CHUNKED_TASKS:
        chunking = DEFAULT_CHUNKING
    if body:
        raise SettingsInvalid(unknown_settings(body, service.name))
    return NewInference(inference_id, task_type, service.name, service_settings, task_settings, chunking)


def _task_settings(task_type: TaskType, raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsInvalid("[task_settings] must be an object")
    settings = dict(raw)
    problems: list[str] = []
    found: dict[str, Any] = {}
    if task_type is TaskType.RERANK:
        if "return_documents" in settings:
            value = settings.pop("return_documents")
            if isinstance(value, bool):
                found["return_documents"] = value
            else:
                problems.append(
                    f"[task_settings] Invalid value [{value}]. [return_documents] must be a boolean"
                )
        if "top_n" in settings:
            value = settings.pop("top_n")
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                found["top_n"] = value
            else:
                problems.append(
                    f"[task_settings] Invalid value [{value}]. [top_n] must be a positive integer"
                )
    problems.extend(f"[task_settings] does not support the setting [{key}]" for key in settings)
    if problems:
        raise SettingsInvalid(problems)
    return found
