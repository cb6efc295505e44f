"""OpenAI embeddings at the server root: ``model`` names an endpoint, or a model id the server resolves.

It sits with the embedding dialects: it answers the same ``/v1/embeddings`` shape as TEI's route under an
endpoint (``embeddings_reply``) and serves the same embedders; only chat is generation.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_openai
from inferhouse.api.core.headers import header_flag, scale_up_timeout, use_cache
from inferhouse.api.core.openapi import json_body
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.huggingface.embeddings_reply import (
    OpenAIEmbeddingCall,
    OpenAIEmbeddingRequest,
    openai_embeddings_reply,
)
from inferhouse.api.huggingface.schemas import EmbeddingParameters, checked_texts
from inferhouse.errors import ValidationFailed

# A token scoped to endpoints may call them here by name; the route checks it (policy "token").
router = APIRouter(route_class=dialect_route(render_openai, policy="token"), tags=["OpenAI"])


@router.post(
    "/v1/embeddings",
    summary="OpenAI embeddings; model is an endpoint name or a model id",
    openapi_extra=json_body(OpenAIEmbeddingCall),
)
async def embeddings(body: OpenAIEmbeddingRequest, request: Request) -> Response:
    found = services(request)
    if not body.model:
        raise ValidationFailed("model is required: an endpoint name or a model id")
    texts = checked_texts(body.texts(), found.settings.max_client_batch_size)
    params = EmbeddingParameters(dimensions=body.dimensions)
    options = params.embed_options(default_normalize=True, use_cache=use_cache(request))

    wait = header_flag(request, "x-wait-for-model")
    serving = found.serving.named(
        body.model,
        principal_of(request),
        wait=wait,
        scale_up=scale_up_timeout(request.headers),
        family="embedding",
    )
    async with serving as deployment:
        result = await deployment.embed(texts, options)
    return json_response(
        openai_embeddings_reply(result.vectors, body.model, result.prompt_tokens, body.encoding_format)
    )
