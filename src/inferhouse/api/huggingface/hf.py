"""The Hugging Face dialect: dedicated endpoints (``/endpoints/{name}``) and serverless (``/models/{id}``)."""

from __future__ import annotations

from contextlib import AsyncExitStack
from enum import StrEnum
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse

from inferhouse.api.core.bodies import json_object
from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.headers import header_flag, scale_up_timeout, use_cache, wait_for_model
from inferhouse.api.core.openapi import json_body
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import Services, services
from inferhouse.api.core.validation import parse_as
from inferhouse.api.generation.tgi_replies import compat_reply
from inferhouse.api.huggingface.images import image_reply
from inferhouse.api.huggingface.schemas import (
    InferenceRequest,
    ToolkitRequest,
    checked_similarity,
    checked_texts,
    expect_similarity,
    expect_texts,
)
from inferhouse.endpoints.deployment import Deployment
from inferhouse.errors import BadRequest, EmptyInput, TaskMismatch, Unavailable, ValidationFailed

endpoint_router = APIRouter(route_class=dialect_route(render_hf, policy="endpoint"), tags=["Hugging Face"])
router = APIRouter(route_class=dialect_route(render_hf), tags=["Hugging Face"])


class Task(StrEnum):
    SENTENCE_EMBEDDINGS = "sentence-embeddings"
    FEATURE_EXTRACTION = "feature-extraction"
    SENTENCE_SIMILARITY = "sentence-similarity"


_SERVERLESS_TASKS = {Task.FEATURE_EXTRACTION, Task.SENTENCE_SIMILARITY}


async def _run(
    found: Services,
    deployment: Deployment,
    task: Task,
    body: InferenceRequest,
    use_cache: bool,
    *,
    bare: bool,
) -> Any:
    """Run ``task``; ``bare`` picks the serverless reply shapes (plain lists) over the endpoint ones."""
    limit = found.settings.max_client_batch_size
    params = body.embedding_parameters()
    if task is Task.SENTENCE_SIMILARITY:
        inputs = expect_similarity(body.inputs, task)
        checked_similarity(inputs, limit)
        options = params.embed_options(default_normalize=True, use_cache=use_cache)
        scores = await deployment.similarity(inputs.source_sentence, inputs.sentences, options)
        return scores if bare else {"similarities": scores}
    raw = expect_texts(body.inputs, task)
    texts = checked_texts(raw, limit)
    result = await deployment.embed(texts, params.embed_options(default_normalize=None, use_cache=use_cache))
    vectors = result.vectors[0] if isinstance(raw, str) else result.vectors
    if task is Task.SENTENCE_EMBEDDINGS and not bare:
        return {"embeddings": vectors}
    return vectors


async def predict(found: Services, deployment: Deployment, raw: dict[str, Any], request: Request) -> Any:
    """Answer one toolkit-shaped body with the deployment's task (or its custom handler)."""
    if deployment.embeds:
        body = parse_as(InferenceRequest, raw)
        cached = use_cache(request, body.options)
        return await _run(found, deployment, Task(deployment.task), body, cached, bare=False)
    if deployment.family == "image":  # an image in the format Accept asks for, not JSON
        return await image_reply(deployment, raw, request.headers.get("accept"))
    return await deployment.predict(raw)


def wants_to_wait(request: Request, raw: dict[str, Any]) -> bool:
    header = header_flag(request, "x-wait-for-model")
    if header is not None:
        return header
    options = raw.get("options")
    return isinstance(options, dict) and options.get("wait_for_model") is True


# What a task's reply can be: JSON, a generation's events (``stream``), or an image (``Accept``).
_TASK_REPLIES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The task's reply",
        "content": {
            "application/json": {"schema": {}},
            "text/event-stream": {"schema": {"type": "string"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}},
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


@endpoint_router.post(
    "/endpoints/{name}",
    summary="Run a dedicated endpoint (Inference Endpoints container)",
    openapi_extra=json_body(ToolkitRequest),
    responses=_TASK_REPLIES,
)
@endpoint_router.post(
    "/endpoints/{name}/predict",
    summary="Run a dedicated endpoint, as the container's /predict",
    openapi_extra=json_body(ToolkitRequest),
    responses=_TASK_REPLIES,
)
async def endpoint_predict(name: str, request: Request) -> Response:
    found = services(request)
    raw = await json_object(request)
    _check_shared_fields(raw)
    async with AsyncExitStack() as resources:
        scale_up = scale_up_timeout(request.headers)
        serving = found.serving.endpoint(name, wait=wants_to_wait(request, raw), scale_up=scale_up)
        deployment = await resources.enter_async_context(serving)
        return await _answer(found, deployment, raw, request, resources)


def _check_shared_fields(raw: dict[str, Any]) -> None:
    """The fields every task reads (inputs, parameters, options, stream) have their types; the task
    checks what its inputs and parameters hold."""
    if "inputs" not in raw:
        raise ValidationFailed('An endpoint takes a body {"inputs": ..., "parameters": {...}}')
    if raw.get("parameters") is not None and not isinstance(raw["parameters"], dict):
        raise ValidationFailed('An endpoint takes "parameters" as an object')
    parse_as(ToolkitRequest, raw)
    if raw["inputs"] == []:  # no task has anything to do with no inputs
        raise EmptyInput("inputs cannot be empty")


async def _answer(
    found: Services, deployment: Deployment, raw: dict[str, Any], request: Request, resources: AsyncExitStack
) -> Response:
    """A toolkit-shaped body's reply; ``resources`` holds the deployment (a stream takes it over)."""
    if deployment.family == "generation":
        return await compat_reply(deployment, raw, resources)
    reply = await predict(found, deployment, raw, request)
    return reply if isinstance(reply, Response) else json_response(reply)


@endpoint_router.get(
    "/endpoints/{name}", summary="200 Ok while the endpoint can serve", response_class=PlainTextResponse
)
@endpoint_router.get(
    "/endpoints/{name}/health",
    summary="200 Ok while the endpoint can serve",
    response_class=PlainTextResponse,
)
@endpoint_router.get(
    "/endpoints/{name}/", summary="200 Ok while the endpoint can serve", response_class=PlainTextResponse
)
async def endpoint_health(name: str, request: Request) -> Response:
    endpoints = services(request).endpoints
    if not endpoints.healthy(name):
        state = endpoints.get(name).status.state.value
        raise Unavailable(f"Endpoint {name} is {state}, not serving")
    return PlainTextResponse("Ok")


async def _serverless(model_id: str, task: Task | None, body: InferenceRequest, request: Request) -> Response:
    found = services(request)
    wait = wait_for_model(request, body.options)
    served = found.serverless.task_of(model_id)
    if found.serverless.family_of(model_id) != "embedding":  # text or image generation
        if task is not None:
            raise TaskMismatch(f"Model {model_id} is a {served} model; call POST /models/{model_id}")
        raw = await json_object(request)
        async with AsyncExitStack() as resources:
            deployment = await resources.enter_async_context(found.serving.model(model_id, wait=wait))
            return await _answer(found, deployment, raw, request, resources)
    if task is None:  # like the serverless API: the inputs' shape picks the task of a sentence model
        is_pair = not isinstance(body.inputs, str | list)
        task = Task.SENTENCE_SIMILARITY if is_pair else Task.FEATURE_EXTRACTION
    cached = use_cache(request, body.options)
    async with found.serving.model(model_id, wait=wait) as deployment:
        return json_response(await _run(found, deployment, task, body, cached, bare=True))


@router.post("/models/{model_id:path}/pipeline/{task}", summary="Serverless inference with a named task")
async def serverless_pipeline(model_id: str, task: str, body: InferenceRequest, request: Request) -> Response:
    chosen = next((known for known in _SERVERLESS_TASKS if known.value == task), None)
    if chosen is None:
        supported = ", ".join(sorted(known.value for known in _SERVERLESS_TASKS))
        raise BadRequest(f"Task {task} is not supported for embedding models; use one of: {supported}")
    return await _serverless(model_id, chosen, body, request)


@router.post(
    "/models/{model_id:path}", summary="Serverless inference (Inference API)", responses=_TASK_REPLIES
)
async def serverless(model_id: str, body: InferenceRequest, request: Request) -> Response:
    return await _serverless(model_id, None, body, request)
