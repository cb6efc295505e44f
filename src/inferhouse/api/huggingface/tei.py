"""The TEI (text-embeddings-inference) dialect, under each dedicated endpoint's URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from inferhouse._version import __version__
from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_hf, render_openai
from inferhouse.api.core.headers import header_flag, scale_up_timeout, use_cache
from inferhouse.api.core.json_types import Flag
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import Services, services
from inferhouse.api.generation.tgi_replies import tgi_info
from inferhouse.api.huggingface.embeddings_reply import OpenAIEmbeddingRequest, openai_embeddings_reply
from inferhouse.api.huggingface.schemas import (
    EmbeddingParameters,
    SimilarityRequest,
    Texts,
    checked_similarity,
    checked_texts,
)
from inferhouse.endpoints.deployment import Deployment
from inferhouse.errors import EmptyInput, TooManyInputs

router = APIRouter(route_class=dialect_route(render_hf, policy="endpoint"), tags=["TEI"])
# TEI's OpenAI-compatible route answers errors as OpenAI does, like the root /v1/embeddings.
openai_router = APIRouter(route_class=dialect_route(render_openai, policy="endpoint"), tags=["TEI"])


class EmbedRequest(EmbeddingParameters):
    inputs: str | Texts
    normalize: Flag | None = Field(True)


class RerankRequest(BaseModel):
    # An empty query is refused as empty (400) by the ranker, not as a validation error.
    query: str = Field(json_schema_extra={"minLength": 1})
    texts: Texts
    raw_scores: Flag = False
    return_text: Flag = False
    truncate: Flag = False
    truncation_direction: Literal["right", "left", "Right", "Left"] = "right"


@asynccontextmanager
async def _deployment(found: Services, name: str, request: Request) -> AsyncIterator[Deployment]:
    wait = header_flag(request, "x-wait-for-model") or False
    async with found.serving.endpoint(
        name, wait=wait, scale_up=scale_up_timeout(request.headers)
    ) as deployment:
        yield deployment


@router.post("/endpoints/{name}/embed", summary="TEI /embed: always a list of vectors")
async def embed(name: str, body: EmbedRequest, request: Request) -> Response:
    found = services(request)
    async with _deployment(found, name, request) as deployment:
        texts = checked_texts(body.inputs, found.settings.max_client_batch_size)
        options = body.embed_options(default_normalize=True, use_cache=use_cache(request))
        result = await deployment.embed(texts, options)
        return json_response(result.vectors)


@router.post("/endpoints/{name}/similarity", summary="TEI /similarity")
async def similarity(name: str, body: SimilarityRequest, request: Request) -> Response:
    found = services(request)
    async with _deployment(found, name, request) as deployment:
        inputs = body.inputs
        checked_similarity(inputs, found.settings.max_client_batch_size)
        parameters = body.embedding_parameters()
        options = parameters.embed_options(default_normalize=True, use_cache=use_cache(request, body.options))
        return json_response(await deployment.similarity(inputs.source_sentence, inputs.sentences, options))


@router.post("/endpoints/{name}/rerank", summary="TEI /rerank: texts sorted by relevance to the query")
async def rerank(name: str, body: RerankRequest, request: Request) -> Response:
    found = services(request)
    if not body.texts:
        raise EmptyInput("`texts` cannot be empty")
    limit = found.settings.max_client_batch_size
    if len(body.texts) > limit:
        raise TooManyInputs(f"batch size {len(body.texts)} > maximum allowed batch size {limit}")
    async with _deployment(found, name, request) as deployment:
        ranked = await deployment.rank(
            body.query,
            body.texts,
            raw_scores=body.raw_scores,
            return_text=body.return_text,
            truncate=body.truncate,
        )
        return json_response(ranked)


@router.get("/endpoints/{name}/info", summary="TEI /info")
async def info(name: str, request: Request) -> Response:
    found = services(request)
    async with _deployment(found, name, request) as deployment:
        if deployment.family == "generation":  # a generation endpoint answers as TGI does
            return json_response(tgi_info(deployment, deployment.text_generator()))
        settings = found.settings
        reply: dict[str, Any] = {
            "model_id": deployment.config.model.repository,
            "model_sha": deployment.config.model.revision,
            "task": deployment.task,
            "max_concurrent_requests": settings.max_queued_inputs,
            "max_client_batch_size": settings.max_client_batch_size,
            "version": __version__,
            "sha": None,
            "docker_label": None,
        }
        if deployment.embeds:
            backend = deployment.embedding_facts()
            reply |= {
                "model_dtype": backend.dtype,
                "model_type": {"embedding": {"pooling": "model"}},
                "dimension": backend.dimension,
                "max_input_length": backend.max_input_length,
                "max_batch_tokens": settings.max_batch_tokens,
                "max_batch_requests": None,
                "auto_truncate": True,
                "tokenization_workers": 1,
            }
        elif deployment.ranks:
            reply["model_type"] = {"reranker": {}}
        return json_response(reply)


@openai_router.post("/endpoints/{name}/v1/embeddings", summary="TEI's OpenAI-compatible embeddings")
async def openai_embeddings(name: str, body: OpenAIEmbeddingRequest, request: Request) -> Response:
    found = services(request)
    async with _deployment(found, name, request) as deployment:
        texts = checked_texts(body.texts(), found.settings.max_client_batch_size)
        params = EmbeddingParameters(dimensions=body.dimensions)
        result = await deployment.embed(
            texts, params.embed_options(default_normalize=True, use_cache=use_cache(request))
        )
        reply = openai_embeddings_reply(
            result.vectors, body.model or name, result.prompt_tokens, body.encoding_format
        )
        return json_response(reply)
