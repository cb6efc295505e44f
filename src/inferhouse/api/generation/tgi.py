"""The TGI (text-generation-inference) dialect, under each dedicated endpoint's URL.

``/generate``, ``/generate_stream`` and TGI's OpenAI-style ``/v1/chat/completions``; ``/info`` is the
TEI route's, which answers in TGI's shape for a generation endpoint. A streaming reply keeps the
endpoint's deployment until its last event, so an update or a retire never closes the model under it.
"""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import APIRouter, Request, Response

from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_tgi
from inferhouse.api.core.headers import header_flag, scale_up_timeout
from inferhouse.api.core.openapi import JSON_OR_EVENTS, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.generation.chat import ChatRequest, chat_response
from inferhouse.api.generation.tgi_params import GenerateRequest
from inferhouse.api.generation.tgi_replies import (
    generate_reply,
    generator_of,
    stream_reply,
    tgi_error_event,
)
from inferhouse.endpoints.deployment import Deployment
from inferhouse.errors import ValidationFailed

router = APIRouter(route_class=dialect_route(render_tgi, policy="endpoint"), tags=["TGI"])


async def _hold(resources: AsyncExitStack, name: str, request: Request) -> Deployment:
    """Enter the endpoint's deployment on ``resources``, which a streaming reply takes over."""
    wait = header_flag(request, "x-wait-for-model") or False
    serving = services(request).serving.endpoint(name, wait=wait, scale_up=scale_up_timeout(request.headers))
    return await resources.enter_async_context(serving)


@router.post("/endpoints/{name}/generate", summary="TGI /generate: the generated text (and details)")
async def generate(name: str, body: GenerateRequest, request: Request) -> Response:
    if body.stream:
        raise ValidationFailed("/generate does not stream: use /generate_stream, or POST the endpoint's URL")
    async with AsyncExitStack() as resources:
        generator = generator_of(await _hold(resources, name, request))
        return json_response(await generate_reply(generator, body, full_text=False))


@router.post(
    "/endpoints/{name}/generate_stream",
    summary="TGI /generate_stream: server-sent token events",
    responses=replies({"type": "string"}, media_type="text/event-stream"),
)
async def generate_stream(name: str, body: GenerateRequest, request: Request) -> Response:
    async with AsyncExitStack() as resources:
        generator = generator_of(await _hold(resources, name, request))
        return await stream_reply(generator, body, resources, full_text=False)


@router.post(
    "/endpoints/{name}/v1/chat/completions",
    summary="TGI's OpenAI-style chat completions",
    responses=JSON_OR_EVENTS,
)
async def chat_completions(name: str, body: ChatRequest, request: Request) -> Response:
    async with AsyncExitStack() as resources:
        generator = generator_of(await _hold(resources, name, request))
        # huggingface_hub sends model "dummy" or "tgi" to an endpoint URL; answer with the endpoint's name.
        model = body.model if body.model and body.model not in ("dummy", "tgi") else name
        return await chat_response(generator, body, model, resources, tgi_error_event)
