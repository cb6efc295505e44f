"""Elasticsearch's inference API: ``/_inference/{task_type}/{inference_id}`` and friends."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from inferhouse.api.core.bodies import json_object
from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_elasticsearch
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.elasticsearch.calls import infer
from inferhouse.api.elasticsearch.configs import endpoint_reply, read_create
from inferhouse.errors import BadRequest
from inferhouse.inference.config import INFERENCE_ID, TaskType, parse_task_type

router = APIRouter(route_class=dialect_route(render_elasticsearch), tags=["Elasticsearch inference API"])

_ALL = "_all"
# Path parameters as the document declares them; the routes check them in Elasticsearch's words.
TaskTypeName = Annotated[
    str, Path(description="The task type", json_schema_extra={"enum": [kind.value for kind in TaskType]})
]
NewInferenceId = Annotated[
    str, Path(description="Lowercase letters, digits, _ . -", json_schema_extra={"pattern": INFERENCE_ID})
]


class CreateInferenceRequest(BaseModel):
    """The service's settings are the service's to check (``inference.services``)."""

    model_config = ConfigDict(extra="forbid")

    service: str = Field(description="hugging_face (a remote URL) or inferhouse (a model this server runs)")
    service_settings: dict[str, object]
    task_settings: dict[str, object] | None = None
    chunking_settings: dict[str, object] | None = None


class InferRequest(BaseModel):
    input: str | list[str] = Field(description="The texts; chat_completion takes messages on _stream")
    query: str | None = Field(None, description="The query of a rerank task")
    input_type: str | None = None
    task_settings: dict[str, object] | None = None
    return_documents: bool | None = None
    top_n: int | None = Field(None, ge=1)
    timeout: str | None = None


class StreamRequest(BaseModel):
    input: str | list[str] | None = Field(None, description="completion: the prompts")
    messages: list[dict[str, object]] | None = Field(None, description="chat_completion: the conversation")
    model: str | None = None


_LISTING = replies(
    {"type": "object", "required": ["endpoints"], "properties": {"endpoints": {"type": "array"}}}
)
_SSE = replies({"type": "string"}, media_type="text/event-stream")


def _listing(request: Request, task_type: TaskType | None) -> Response:
    configs = services(request).inference.list(task_type)
    return json_response({"endpoints": [endpoint_reply(config) for config in configs]})


@router.get("/_inference", summary="List inference endpoints", responses=_LISTING)
async def list_all(request: Request) -> Response:
    return _listing(request, None)


@router.get("/_inference/{inference_id}", summary="Get an inference endpoint (or _all)", responses=_LISTING)
async def get_one(inference_id: str, request: Request) -> Response:
    if inference_id == _ALL:
        return _listing(request, None)
    config = services(request).inference.get(inference_id)
    return json_response({"endpoints": [endpoint_reply(config)]})


@router.get(
    "/_inference/{task_type}/{inference_id}",
    summary="Get an inference endpoint of a task type",
    responses=_LISTING,
)
async def get_typed(task_type: TaskTypeName, inference_id: str, request: Request) -> Response:
    kind = parse_task_type(task_type)
    if inference_id == _ALL:
        return _listing(request, kind)
    config = services(request).inference.get(inference_id, kind)
    return json_response({"endpoints": [endpoint_reply(config)]})


@router.put(
    "/_inference/{task_type}/{inference_id}",
    summary="Create an inference endpoint",
    openapi_extra=json_body(CreateInferenceRequest),
)
async def create(task_type: TaskTypeName, inference_id: NewInferenceId, request: Request) -> Response:
    body = await json_object(request)
    found = services(request)
    principal = principal_of(request)
    new = read_create(found.inference, task_type, inference_id, body)
    config = await found.inference.create(
        new, allowed=lambda made: found.models.authorize_config(made, principal)
    )
    return json_response(endpoint_reply(config))


async def _delete(request: Request, inference_id: str, task_type: TaskType | None) -> Response:
    found = services(request)
    found.inference.get(inference_id, task_type)
    force = request.query_params.get("force", "false").lower() == "true"
    users = found.indexes.using_model(inference_id)
    await found.inference.delete(inference_id, users, force=force)
    return json_response({"acknowledged": True, "pipelines": [], "semantic_text_indices": []})


@router.delete("/_inference/{inference_id}", summary="Delete an inference endpoint")
async def delete_one(inference_id: str, request: Request) -> Response:
    return await _delete(request, inference_id, None)


@router.delete("/_inference/{task_type}/{inference_id}", summary="Delete an inference endpoint")
async def delete_typed(task_type: TaskTypeName, inference_id: str, request: Request) -> Response:
    return await _delete(request, inference_id, parse_task_type(task_type))


def _allowed(request: Request, inference_id: str) -> None:
    found = services(request)
    if inference_id in found.inference:
        found.models.authorize(inference_id, principal_of(request))


@router.post(
    "/_inference/{inference_id}",
    summary="Run inference with the endpoint's own task type",
    openapi_extra=json_body(InferRequest),
)
async def infer_one(inference_id: str, request: Request) -> Response:
    body = await json_object(request)
    _allowed(request, inference_id)
    return json_response(await infer(services(request).inference, None, inference_id, body))


@router.post(
    "/_inference/{task_type}/{inference_id}", summary="Run inference", openapi_extra=json_body(InferRequest)
)
async def infer_typed(task_type: TaskTypeName, inference_id: str, request: Request) -> Response:
    body = await json_object(request)
    kind = parse_task_type(task_type)
    _allowed(request, inference_id)
    return json_response(await infer(services(request).inference, kind, inference_id, body))


@router.post(
    "/_inference/{task_type}/{inference_id}/_stream",
    summary="Chat completion as server-sent events (OpenAI chunk format)",
    openapi_extra=json_body(StreamRequest),
    responses=_SSE,
)
async def stream(task_type: TaskTypeName, inference_id: str, request: Request) -> Response:
    kind = parse_task_type(task_type)
    body = await json_object(request)
    registry = services(request).inference
    config = registry.get(inference_id, kind)
    _allowed(request, inference_id)
    if config.task_type not in (TaskType.CHAT_COMPLETION, TaskType.COMPLETION):
        raise BadRequest(f"Streaming is not allowed for task [{config.task_type.value}].")
    runner = registry.runner(inference_id)
    if config.task_type is TaskType.CHAT_COMPLETION:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BadRequest("Field [messages] must be a non-empty array")
        parameters = {key: value for key, value in body.items() if key not in ("messages", "model")}
        text = await runner.complete(messages, **parameters)
        events = [_chat_chunk(text, config.service_settings.get("model_id") or inference_id)]
    else:
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        if not isinstance(texts, list) or not texts:
            raise BadRequest("Field [input] cannot be an empty array")
        results = [await runner.complete([{"role": "user", "content": str(text)}]) for text in texts]
        events = [{"completion": [{"delta": result} for result in results]}]
    return StreamingResponse(_sse(events), media_type="text/event-stream")


def _chat_chunk(text: str, model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
    }


async def _sse(events: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield b"event: message\ndata: " + orjson.dumps(event) + b"\n\n"
    yield b"event: message\ndata: [DONE]\n\n"
