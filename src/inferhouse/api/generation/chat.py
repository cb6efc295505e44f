"""OpenAI chat completions over a text generator: the request, the reply, the chunk events and usage.

Shared by ``POST /v1/chat/completions`` at the root (``model`` names an endpoint or a model id) and
TGI's route under each endpoint; the two differ only in how an error is shaped.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any, Literal

from fastapi import Response
from pydantic import BaseModel, ConfigDict, Field

from inferhouse._version import __version__
from inferhouse.api.core.error_shapes import render_openai
from inferhouse.api.core.responses import json_response
from inferhouse.api.generation.sse import DONE, EventStream, sse_data, stop_unless_done
from inferhouse.api.generation.stop_text import StopTrimmer
from inferhouse.engine.generation.contract import (
    FinishReason,
    GenerationParams,
    GenerationStream,
    TextGenerator,
)
from inferhouse.errors import BackendFailure, InferhouseError, ValidationFailed

log = logging.getLogger(__name__)

# Turns an error met after the stream started into the event the dialect's clients raise.
ErrorEvent = Callable[[InferhouseError], bytes]


def openai_error_event(error: InferhouseError) -> bytes:
    """An error after the stream started, in OpenAI's error body: the openai client raises APIError."""
    return b"data: " + bytes(render_openai(error).body) + b"\n\n"


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    include_usage: bool = False


class ChatRequest(BaseModel):
    """What the openai and huggingface_hub clients send; values we cannot honour are refused."""

    model_config = ConfigDict(extra="forbid", strict=True)

    messages: list[dict[str, Any]] = Field(min_length=1)
    model: str | None = None
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = Field(None, ge=0)
    stop: str | list[str] | None = None
    n: int | None = Field(None, ge=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = None  # an end-user id for the caller's own tracking; nothing to do with it here
    # Accepted at their neutral values only (see ``unsupported``).
    logprobs: bool | None = None
    top_logprobs: int | None = Field(None, ge=0)
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    logit_bias: dict[str, float] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    tool_prompt: str | None = None
    response_format: dict[str, Any] | None = None

    def unsupported(self) -> str | None:
        if self.n is not None and self.n > 1:
            return "n > 1 is not supported: send n 1 or leave it out, and ask again for more choices"
        if self.logprobs or self.top_logprobs:
            return "logprobs are not supported on chat completions: leave logprobs and top_logprobs out"
        if self.frequency_penalty or self.presence_penalty:
            return "frequency_penalty and presence_penalty are not supported: leave them out"
        if self.logit_bias:
            return "logit_bias is not supported: leave it out"
        if self.tools or self.tool_prompt or self.tool_choice not in (None, "none", "auto"):
            return "tools (function calling) are not supported: leave tools and tool_choice out"
        if self.response_format is not None and self.response_format.get("type") != "text":
            return "response_format other than text (JSON mode, JSON schema) is not supported"
        if self.stream_options is not None and not self.stream:
            return "stream_options is only allowed when stream is true"
        return None

    def generation_params(self) -> GenerationParams:
        problem = self.unsupported()
        if problem is not None:
            raise ValidationFailed(problem)
        stops = [self.stop] if isinstance(self.stop, str) else list(self.stop or ())
        if any(not stop for stop in stops):
            raise ValidationFailed("stop sequences cannot be empty strings")
        # OpenAI samples by default (temperature 1); temperature 0 asks for greedy decoding.
        greedy = self.temperature == 0
        return GenerationParams(
            max_new_tokens=self.max_completion_tokens or self.max_tokens,
            temperature=None if greedy else self.temperature,
            top_p=self.top_p,
            do_sample=not greedy,
            stop=tuple(stops),
            seed=self.seed,
        )

    def text_messages(self) -> list[dict[str, Any]]:
        """The messages with content given as parts (``[{"type": "text", "text"}]``) joined into text."""
        messages = []
        for number, message in enumerate(self.messages):
            content = message.get("content")
            if isinstance(content, list):
                texts = []
                for part in content:
                    if not isinstance(part, dict) or part.get("type") != "text":
                        raise ValidationFailed(
                            f"messages.{number}.content: only text parts are supported "
                            '({"type": "text", "text": ...})'
                        )
                    if not isinstance(part.get("text"), str):
                        raise ValidationFailed(f"messages.{number}.content: a text part needs string `text`")
                    texts.append(part["text"])
                message = {**message, "content": "".join(texts)}
            messages.append(message)
        return messages


class ChatCall(ChatRequest):
    """The root ``/v1/chat/completions`` body, as documented: it needs ``model`` to know what answers."""

    model: str = Field(min_length=1)


def openai_finish_reason(reason: FinishReason, stopped: bool) -> str:
    return "length" if reason == "length" and not stopped else "stop"


class _Shape:
    """The fields every reply and chunk of one completion share."""

    def __init__(self, model: str) -> None:
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model
        self.fingerprint = f"inferhouse-{__version__}"

    def envelope(self, kind: Literal["chat.completion", "chat.completion.chunk"]) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": kind,
            "created": self.created,
            "model": self.model,
            "system_fingerprint": self.fingerprint,
        }

    def chunk(self, content: str, finish_reason: str | None = None) -> bytes:
        choice = {
            "index": 0,
            "delta": {"role": "assistant", "content": content},
            "logprobs": None,
            "finish_reason": finish_reason,
        }
        return sse_data({**self.envelope("chat.completion.chunk"), "choices": [choice]})


def _usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


async def chat_response(
    generator: TextGenerator,
    body: ChatRequest,
    model: str,
    resources: AsyncExitStack,
    error_event: ErrorEvent,
) -> Response:
    """The completion as JSON, or as chunk events when ``body.stream``; ``resources`` (the deployment
    the request holds) is released when a stream ends."""
    if not generator.has_chat_template:
        raise ValidationFailed(
            f"Model {generator.model_id} has no chat template (chat_template in tokenizer_config.json), "
            "so it cannot take chat messages; send a prompt to /generate instead"
        )
    params = body.generation_params()
    prompt = generator.chat_prompt(body.text_messages())
    shape = _Shape(model)
    trimmer = StopTrimmer(params.stop)
    if not body.stream:
        result = await generator.generate(prompt, params)
        content = trimmer.push(result.text) + trimmer.finish()
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": content},
            "logprobs": None,
            "finish_reason": openai_finish_reason(result.finish_reason, trimmer.stopped),
        }
        reply = {
            **shape.envelope("chat.completion"),
            "choices": [choice],
            "usage": _usage(result.prompt_tokens, result.generated_tokens),
        }
        return json_response(reply)
    stream = await generator.stream(prompt, params)
    resources.callback(stop_unless_done, stream)
    usage = body.stream_options is not None and body.stream_options.include_usage
    events = _chunks(stream, shape, trimmer, error_event, include_usage=usage)
    return EventStream(events, resources.pop_all())


async def _chunks(
    stream: GenerationStream,
    shape: _Shape,
    trimmer: StopTrimmer,
    error_event: ErrorEvent,
    *,
    include_usage: bool,
) -> AsyncIterator[bytes]:
    try:
        yield shape.chunk("")  # the role first, as OpenAI does
        async for token in stream:
            if token.special:
                continue
            piece = trimmer.push(token.text)
            if piece:
                yield shape.chunk(piece)
        result = stream.result
        if result is None:
            yield error_event(InferhouseError("Incomplete generation"))
            return
        tail = trimmer.finish()
        if tail:
            yield shape.chunk(tail)
        yield shape.chunk("", openai_finish_reason(result.finish_reason, trimmer.stopped))
        if include_usage:
            usage = _usage(result.prompt_tokens, result.generated_tokens)
            yield sse_data({**shape.envelope("chat.completion.chunk"), "choices": [], "usage": usage})
        yield DONE
    except InferhouseError as error:
        yield error_event(error)
    except Exception:
        log.exception("chat generation failed mid-stream")
        yield error_event(BackendFailure("Request failed during generation"))
