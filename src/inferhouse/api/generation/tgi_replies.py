"""TGI's replies: ``/generate`` bodies, ``/generate_stream`` events, ``/info``, and its error kinds.

Shared by the TGI routes under an endpoint, the compat route ``POST /endpoints/{name}`` and the
serverless ``POST /models/{id}``, which all answer a text generator in TGI's shapes.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

from fastapi import Response

from inferhouse._version import __version__
from inferhouse.api.core.error_shapes import render_tgi, tgi_error_type
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.validation import parse_as
from inferhouse.api.generation.sse import EventStream, sse_data, stop_unless_done
from inferhouse.api.generation.tgi_params import GenerateRequest
from inferhouse.endpoints.deployment import Deployment
from inferhouse.engine.generation.contract import (
    GeneratedToken,
    GenerationResult,
    GenerationStream,
    TextGenerator,
)
from inferhouse.errors import BackendFailure, InferhouseError

log = logging.getLogger(__name__)


def tgi_error_event(error: InferhouseError) -> bytes:
    """The event TGI sends when a stream fails after it started; huggingface_hub raises it."""
    return _error_event(error.message, tgi_error_type(error))


def _error_event(message: str, error_type: str) -> bytes:
    return sse_data({"error": message, "error_type": error_type}, space=False)


# What TGI sends when a stream ends without its last token (huggingface_hub: IncompleteGenerationError).
INCOMPLETE = _error_event("Incomplete generation", "incomplete_generation")


def generator_of(deployment: Deployment) -> TextGenerator:
    return deployment.text_generator()


def _token(token: GeneratedToken) -> dict[str, Any]:
    return {"id": token.id, "text": token.text, "logprob": token.logprob, "special": token.special}


def _details(result: GenerationResult) -> dict[str, Any]:
    return {
        "finish_reason": result.finish_reason,
        "generated_tokens": result.generated_tokens,
        "seed": result.seed,
        "prefill": [],
        "tokens": [_token(token) for token in result.tokens],
    }


async def generate_reply(
    generator: TextGenerator, body: GenerateRequest, *, full_text: bool
) -> dict[str, Any]:
    """``{"generated_text", "details"?}``; ``full_text`` is the default of ``return_full_text``."""
    params = body.parameters.generation_params()
    result = await generator.generate(body.inputs, params)
    text = body.inputs + result.text if body.full_text(full_text) else result.text
    reply: dict[str, Any] = {"generated_text": text}
    if body.parameters.details:
        reply["details"] = _details(result)
    return reply


async def stream_reply(
    generator: TextGenerator, body: GenerateRequest, resources: AsyncExitStack, *, full_text: bool
) -> EventStream:
    """TGI's event stream; validation and a full queue still fail as a JSON error before it starts.

    ``resources`` (the deployment the request holds) is released when the stream is over.
    """
    params = body.parameters.generation_params()
    stream = await generator.stream(body.inputs, params)
    resources.callback(stop_unless_done, stream)
    prefix = body.inputs if body.full_text(full_text) else ""
    events = _tgi_events(stream, prefix, details=body.parameters.details)
    return EventStream(events, resources.pop_all())


def _event(
    index: int, token: GeneratedToken, result: GenerationResult | None, prefix: str, details: bool
) -> bytes:
    event: dict[str, Any] = {"index": index, "token": _token(token), "generated_text": None, "details": None}
    if result is not None:
        event["generated_text"] = prefix + result.text
        if details:
            event["details"] = {
                "finish_reason": result.finish_reason,
                "generated_tokens": result.generated_tokens,
                "seed": result.seed,
                "input_length": result.prompt_tokens,
            }
    return sse_data(event, space=False)


async def _tgi_events(stream: GenerationStream, prefix: str, *, details: bool) -> AsyncIterator[bytes]:
    """One event per token; the last one also carries the whole text (and the details when asked).

    The stream says it is finished only once iteration ends, so each token waits for the next one
    (or for the end) unless the stream already holds its result when the token arrives.
    """
    index = 0
    held: GeneratedToken | None = None
    try:
        async for token in stream:
            if held is not None:
                index += 1
                yield _event(index, held, None, prefix, details)
            held = token
            if stream.result is not None:
                break
        if held is None or stream.result is None:
            yield INCOMPLETE
            return
        yield _event(index + 1, held, stream.result, prefix, details)
    except InferhouseError as error:
        yield tgi_error_event(error)
    except Exception:
        log.exception("generation failed mid-stream")
        yield tgi_error_event(BackendFailure("Request failed during generation"))


async def compat_reply(deployment: Deployment, raw: dict[str, Any], resources: AsyncExitStack) -> Response:
    """TGI's ``POST /`` (an endpoint's URL, a serverless model): a list of one generation, or its event
    stream when ``stream`` is true. As in TGI, a text-generation model returns the prompt with the
    text here unless ``return_full_text`` is false (``/generate`` leaves it out unless asked)."""
    generator = generator_of(deployment)
    body = parse_as(GenerateRequest, raw)
    full_text = deployment.task == "text-generation"
    try:
        if body.stream:
            return await stream_reply(generator, body, resources, full_text=full_text)
        return json_response([await generate_reply(generator, body, full_text=full_text)])
    except BackendFailure as error:  # the route renders Hugging Face kinds; TGI's clients want its own
        return render_tgi(error)


def tgi_info(deployment: Deployment, generator: TextGenerator) -> dict[str, Any]:
    """TGI's ``/info`` for a generation endpoint."""
    limits = generator.limits
    config = deployment.config
    return {
        "model_id": config.model.repository,
        "model_sha": config.model.revision,
        "model_pipeline_tag": deployment.task,
        "model_device_type": "cuda" if config.compute.accelerator == "gpu" else "cpu",
        "max_concurrent_requests": limits.max_concurrent_requests,
        "max_best_of": 1,
        "max_stop_sequences": limits.max_stop_sequences,
        "max_input_tokens": limits.max_input_tokens,
        "max_input_length": limits.max_input_tokens,
        "max_total_tokens": limits.max_total_tokens,
        "max_client_batch_size": 1,
        "validation_workers": 1,
        "router": "inferhouse",
        "version": __version__,
        "sha": None,
        "docker_label": None,
    }
