"""The TEI (text-embeddings-inference) dialect, under each dedicated endpoint's URL."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import Field

from inferhouse import __version__
from inferhouse.api.dialect import dialect_route
from inferhouse.api.embeddings_reply import OpenAIEmbeddingRequest, openai_embeddings_reply
from inferhouse.api.headers import use_cache
from inferhouse.api.renderers import render_hf
from inferhouse.api.responses import json_response
from inferhouse.api.schemas import (
    EmbeddingParameters,
    InferenceRequest,
    checked_similarity,
    checked_texts,
    expect_similarity,
)
from inferhouse.api.services import services
from inferhouse.engine.tasks import sentence_similarity

router = APIRouter(route_class=dialect_route(render_hf), tags=["TEI"])


class EmbedRequest(EmbeddingParameters):
    inputs: str | list[str]
    normalize: bool | None = Field(True)


@router.post("/endpoints/{name}/embed", summary="TEI /embed: always a list of vectors")
async def embed(name: str, body: EmbedRequest, request: Request) -> Response:
    found = services(request)
    _, embedder = await found.endpoints.embedder(name)
    texts = checked_texts(body.inputs, found.settings.max_client_batch_size)
    options = body.embed_options(default_normalize=True, use_cache=use_cache(request))
    result = await embedder.embed(texts, options)
    return json_response(result.vectors)


@router.post("/endpoints/{name}/similarity", summary="TEI /similarity")
async def similarity(name: str, body: InferenceRequest, request: Request) -> Response:
    found = services(request)
    _, embedder = await found.endpoints.embedder(name)
    inputs = expect_similarity(body.inputs, "similarity")
    checked_similarity(inputs, found.settings.max_client_batch_size)
    parameters = body.embedding_parameters()
    options = parameters.embed_options(default_normalize=True, use_cache=use_cache(request, body.options))
    return json_response(
        await sentence_similarity(embedder, inputs.source_sentence, inputs.sentences, options)
    )


@router.get("/endpoints/{name}/info", summary="TEI /info")
async def info(name: str, request: Request) -> Response:
    found = services(request)
    endpoint, embedder = await found.endpoints.embedder(name)
    settings = found.settings
    backend = embedder.backend
    return json_response(
        {
            "model_id": endpoint.model_id,
            "model_sha": None,
            "model_dtype": backend.dtype,
            "model_type": {"embedding": {"pooling": "model"}},
            "task": endpoint.task.value,
            "dimension": backend.dimension,
            "max_concurrent_requests": settings.max_queued_inputs,
            "max_input_length": backend.max_input_length,
            "max_batch_tokens": settings.max_batch_tokens,
            "max_batch_requests": None,
            "max_client_batch_size": settings.max_client_batch_size,
            "auto_truncate": True,
            "tokenization_workers": 1,
            "version": __version__,
            "sha": None,
            "docker_label": None,
        }
    )


@router.post("/endpoints/{name}/v1/embeddings", summary="TEI's OpenAI-compatible embeddings")
async def openai_embeddings(name: str, body: OpenAIEmbeddingRequest, request: Request) -> Response:
    found = services(request)
    endpoint, embedder = await found.endpoints.embedder(name)
    texts = checked_texts(body.texts(), found.settings.max_client_batch_size)
    params = EmbeddingParameters(dimensions=body.dimensions)
    result = await embedder.embed(
        texts, params.embed_options(default_normalize=True, use_cache=use_cache(request))
    )
    reply = openai_embeddings_reply(
        result.vectors, body.model or endpoint.name, result.prompt_tokens, body.encoding_format
    )
    return json_response(reply)
