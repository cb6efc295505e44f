"""The hottest request shape, answered below FastAPI.

A one-sentence embedding is a few milliseconds of model time, and FastAPI's routing, dependency solving
and pydantic parsing add most of a millisecond of event-loop time to each (see benchmarks/README.md).
This ASGI layer answers ``POST /endpoints/{name}/embed`` and ``POST /endpoints/{name}`` when the body is
the plain ``{"inputs": str | [str, ...]}`` (optionally with boolean ``normalize``/``truncate``) and the
endpoint embeds. Anything else (other fields, other tasks, an error in the body) goes on to the full
route with the body replayed, so the routes stay the one place that defines behaviour and error text.
Authentication, the body limit, JSON decoding and error rendering are the dialect route's own functions
(``api/core/dialect.py``); a request passed on carries an admission, so its token is checked and its body
read and decoded once, here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers
from starlette.types import Message, Receive

from inferhouse.api.core.bodies import parse_json
from inferhouse.api.core.dialect import (
    NOT_DECODED,
    Admission,
    admit,
    authorize_headers,
    body_chunks,
    read_limited,
    render_failure,
)
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.headers import scale_up_timeout
from inferhouse.api.core.lanes import LaneCall, PostLane, RouteLabel
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import Services
from inferhouse.api.huggingface.schemas import checked_texts
from inferhouse.endpoints.deployment import Deployment
from inferhouse.engine.embedder import EmbedOptions
from inferhouse.errors import InvalidJson

_ROUTE = re.compile(r"/endpoints/(?P<name>[^/]+)(?P<tei>/embed)?")
_OPTIONAL_FLAGS = ("normalize", "truncate")
_TRUE = {"1", "true", "yes"}


_LABELS = {False: RouteLabel("/endpoints/{name}"), True: RouteLabel("/endpoints/{name}/embed")}


@dataclass(frozen=True, slots=True)
class _PlainEmbed:
    inputs: str | list[str]
    normalize: bool | None
    truncate: bool | None


class EmbedFastLane(PostLane):
    route = _ROUTE

    async def answer(self, call: LaneCall) -> None:
        scope, receive, send = call.scope, call.receive, call.send
        found, headers = call.services, call.headers
        name, tei = call.matched["name"], call.matched["tei"] is not None
        try:
            principal = authorize_headers(found, headers, "endpoint", name)
            limit = found.settings.max_body_bytes
            body = await read_limited(body_chunks(receive), headers.get("content-length"), limit)
        except Exception as error:
            await render_failure(render_hf, error, "POST", scope["path"])(scope, receive, send)
            return
        decoded = _decoded(body)
        plain = _plain(decoded)
        loaded = found.serving.loaded(name)
        # Only an endpoint that is loaded and embeds takes this lane; a cold or other-task endpoint goes
        # to its route, which wakes it or answers for its task.
        if plain is not None and loaded is not None and _fast_task(loaded, tei) is not None:
            scope["route"] = _LABELS[tei]
            try:
                reply = await _answer(found, name, plain, headers, tei=tei)
            except Exception as error:
                await render_failure(render_hf, error, "POST", scope["path"])(scope, receive, send)
                return
            if reply is not None:
                await json_response(reply)(scope, receive, send)
                return
            scope.pop("route", None)
        admit(scope, Admission(name, principal, body, decoded))
        await self.app(scope, _replay(body, receive), send)


async def _answer(
    found: Services, name: str, plain: _PlainEmbed, headers: Headers, *, tei: bool
) -> Any | None:
    """The reply, or None when this endpoint's task needs the full route."""
    wait = headers.get("x-wait-for-model", "").strip().lower() in _TRUE
    async with found.serving.endpoint(name, wait=wait, scale_up=scale_up_timeout(headers)) as deployment:
        task = _fast_task(deployment, tei)
        if task is None:  # swapped for another task by an update since the check above
            return None
        texts = checked_texts(plain.inputs, found.settings.max_client_batch_size)
        cache_header = headers.get("x-use-cache")
        options = EmbedOptions(
            normalize=(True if tei else None) if plain.normalize is None else plain.normalize,
            truncate=True if plain.truncate is None else plain.truncate,
            truncation_direction="right",
            prompt_name=None,
            dimensions=None,
            use_cache=cache_header is None or cache_header.strip().lower() in _TRUE,
        )
        vectors = (await deployment.embed(texts, options)).vectors
    if tei:
        return vectors
    if task == "sentence-embeddings":
        return {"embeddings": vectors[0] if isinstance(plain.inputs, str) else vectors}
    return vectors[0] if isinstance(plain.inputs, str) else vectors


def _fast_task(deployment: Deployment, tei: bool) -> str | None:
    if not deployment.embeds:
        return None
    if tei or deployment.task in ("sentence-embeddings", "feature-extraction"):
        return deployment.task
    return None


def _decoded(body: bytes) -> Any:
    """The body as the route would decode it, or NOT_DECODED: the route then says what is wrong."""
    try:
        return parse_json(body)
    except InvalidJson:
        return NOT_DECODED


def _plain(parsed: Any) -> _PlainEmbed | None:
    if not isinstance(parsed, dict) or "inputs" not in parsed:
        return None
    if any(key != "inputs" and key not in _OPTIONAL_FLAGS for key in parsed):
        return None
    inputs = parsed["inputs"]
    texts = inputs if isinstance(inputs, list) else [inputs]
    if not all(isinstance(text, str) for text in texts):
        return None
    flags = [parsed.get(key) for key in _OPTIONAL_FLAGS]
    if any(value is not None and not isinstance(value, bool) for value in flags):
        return None
    return _PlainEmbed(inputs, flags[0], flags[1])


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the already-read body to the full route, then listens for disconnects."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
