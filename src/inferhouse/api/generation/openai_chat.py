"""OpenAI chat completions at the root: ``model`` names an endpoint, or a model id the server resolves."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import APIRouter, Request, Response

from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_openai
from inferhouse.api.core.headers import header_flag, scale_up_timeout
from inferhouse.api.core.openapi import JSON_OR_EVENTS, json_body
from inferhouse.api.core.services import services
from inferhouse.api.generation.chat import ChatCall, ChatRequest, chat_response, openai_error_event
from inferhouse.api.generation.tgi_replies import generator_of
from inferhouse.errors import ValidationFailed

# A token scoped to endpoints may call them here by name; the route checks it (policy "token").
router = APIRouter(route_class=dialect_route(render_openai, policy="token"), tags=["OpenAI"])


@router.post(
    "/v1/chat/completions",
    summary="OpenAI chat completions; model is an endpoint name or a model id",
    responses=JSON_OR_EVENTS,
    openapi_extra=json_body(ChatCall),
)
async def chat_completions(body: ChatRequest, request: Request) -> Response:
    found = services(request)
    if not body.model:
        raise ValidationFailed("model is required: the name of a text-generation endpoint, or a model id")
    wait = header_flag(request, "x-wait-for-model")
    serving = found.serving.named(
        body.model,
        principal_of(request),
        wait=wait,
        scale_up=scale_up_timeout(request.headers),
        family="generation",
    )
    async with AsyncExitStack() as resources:
        generator = generator_of(await resources.enter_async_context(serving))
        return await chat_response(generator, body, body.model, resources, openai_error_event)
