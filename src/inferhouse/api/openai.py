"""The OpenAI dialect at the server root: ``model`` names an endpoint, or a model id the server resolves."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from inferhouse.api.dialect import dialect_route
from inferhouse.api.embeddings_reply import OpenAIEmbeddingRequest, openai_embeddings_reply
from inferhouse.api.headers import use_cache
from inferhouse.api.renderers import render_openai
from inferhouse.api.responses import json_response
from inferhouse.api.schemas import EmbeddingParameters, checked_texts
from inferhouse.api.services import Services, services
from inferhouse.engine.embedder import Embedder
from inferhouse.errors import EndpointNotFound, ValidationFailed

router = APIRouter(route_class=dialect_route(render_openai), tags=["OpenAI"])


async def _embedder_for(found: Services, model: str) -> Embedder:
    try:
        _, embedder = await found.endpoints.embedder(model)
    except EndpointNotFound:
        return await found.pool.get(model, wait=True)
    return embedder


@router.post("/v1/embeddings", summary="OpenAI embeddings; model is an endpoint name or a model id")
async def embeddings(body: OpenAIEmbeddingRequest, request: Request) -> Response:
    found = services(request)
    if not body.model:
        raise ValidationFailed("model is required: an endpoint name or a model id")
    embedder = await _embedder_for(found, body.model)
    texts = checked_texts(body.texts(), found.settings.max_client_batch_size)
    params = EmbeddingParameters(dimensions=body.dimensions)
    result = await embedder.embed(
        texts, params.embed_options(default_normalize=True, use_cache=use_cache(request))
    )
    return json_response(
        openai_embeddings_reply(result.vectors, body.model, result.prompt_tokens, body.encoding_format)
    )
