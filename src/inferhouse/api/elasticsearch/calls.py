"""``POST /_inference/...``: read the task's body, call the runner, shape Elasticsearch's reply."""

from __future__ import annotations

from typing import Any

from inferhouse.errors import BadRequest, EmptyInput
from inferhouse.inference.config import TaskType
from inferhouse.inference.registry import InferenceRegistry


def _inputs(body: dict[str, Any], *, allow_single: bool = True) -> list[str]:
    raw = body.get("input")
    if raw is None:
        raise BadRequest("Field [input] cannot be null")
    texts = [raw] if isinstance(raw, str) and allow_single else raw
    if not isinstance(texts, list) or not all(isinstance(text, str) for text in texts):
        raise BadRequest("Field [input] must be a string or an array of strings")
    if not texts:
        raise EmptyInput("Field [input] cannot be an empty array")
    return texts


def _check_keys(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise BadRequest(f"[inference] unknown fields [{', '.join(unknown)}] in the request body")


async def infer(
    registry: InferenceRegistry, task_type: TaskType | None, inference_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    config = registry.get(inference_id, task_type)
    runner = registry.runner(inference_id)
    kind = config.task_type
    if kind is TaskType.TEXT_EMBEDDING:
        _check_keys(body, {"input", "input_type", "task_settings", "timeout"})
        vectors = await runner.embed(_inputs(body))
        return {"text_embedding": [{"embedding": vector} for vector in vectors]}
    if kind is TaskType.RERANK:
        _check_keys(body, {"input", "query", "task_settings", "return_documents", "top_n", "timeout"})
        query = body.get("query")
        if not isinstance(query, str) or not query:
            raise BadRequest("Field [query] cannot be null for task type [rerank]")
        settings = {**config.task_settings, **_request_task_settings(body)}
        ranked = await runner.rerank(
            query, _inputs(body), settings.get("top_n"), bool(settings.get("return_documents", False))
        )
        reply = []
        for item in ranked:
            entry: dict[str, Any] = {"index": item.index, "relevance_score": item.score}
            if item.text is not None:
                entry["text"] = item.text
            reply.append(entry)
        return {"rerank": reply}
    if kind is TaskType.COMPLETION:
        _check_keys(body, {"input", "task_settings", "timeout"})
        results = [await runner.complete([{"role": "user", "content": text}]) for text in _inputs(body)]
        return {"completion": [{"result": result} for result in results]}
    raise BadRequest(
        f"The [{kind.value}] task type only supports streaming, please try again with the _stream API"
    )


def _request_task_settings(body: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    nested = body.get("task_settings")
    if isinstance(nested, dict):
        merged.update(nested)
    for key in ("return_documents", "top_n"):
        if key in body:
            merged[key] = body[key]
    top_n = merged.get("top_n")
    if top_n is not None and (not isinstance(top_n, int) or isinstance(top_n, bool) or top_n <= 0):
        raise BadRequest(f"[task_settings] Invalid value [{top_n}]. [top_n] must be a positive integer")
    return merged
