"""The playground of an endpoint's page: embed texts and compare them, or try the endpoint's task (the
tryouts of :mod:`inferhouse.ui.tryouts`), then see the same call as code with the endpoint's real URL.

Every call goes to the endpoint's public routes as the signed-in token; the snippets name the token as
``$INFERHOUSE_TOKEN`` and never contain it. Text generation and chat also stream: the page's script
(``static/playground.js``) posts the form to ``/stream/{kind}`` and shows tokens as they arrive.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from inferhouse.ui.api_calls import Refused
from inferhouse.ui.api_stream import post_streamed
from inferhouse.ui.endpoints import page_context
from inferhouse.ui.pages import PREFIX, DashboardRoute, api, checked_form, render, session_of
from inferhouse.ui.sessions import Session
from inferhouse.ui.tryouts import TRYOUTS, Shown, Tryout, code_for, path_of

router = APIRouter(route_class=DashboardRoute, include_in_schema=False)

MAX_TEXTS = 8
FIRST_VALUES = 8


@dataclass(frozen=True)
class Embedded:
    texts: list[str]
    dimensions: int
    first_values: list[list[float]]
    similarity: list[list[float]]  # cosine similarity of every pair of texts
    snippets: dict[str, str]


def cosine_matrix(vectors: list[list[float]]) -> list[list[float]]:
    norms = [math.sqrt(sum(value * value for value in vector)) or 1.0 for vector in vectors]
    return [
        [
            sum(x * y for x, y in zip(a, b, strict=True)) / (norm_a * norm_b)
            for b, norm_b in zip(vectors, norms, strict=True)
        ]
        for a, norm_a in zip(vectors, norms, strict=True)
    ]


def snippets(base_url: str, name: str, texts: list[str]) -> dict[str, str]:
    """The call just made, as code a user can paste; the token comes from the environment."""
    url = f"{base_url}/endpoints/{quote(name, safe='')}"
    inputs = json.dumps(texts, ensure_ascii=False)
    body = json.dumps({"inputs": texts}, ensure_ascii=False).replace("'", "'\\''")
    return {
        "curl": (
            f"curl {url}/embed \\\n"
            '  -H "Authorization: Bearer $INFERHOUSE_TOKEN" \\\n'
            '  -H "Content-Type: application/json" \\\n'
            f"  -d '{body}'"
        ),
        "requests": (
            "import os\nimport requests\n\n"
            f"reply = requests.post(\n    {json.dumps(url + '/embed')},\n"
            '    headers={"Authorization": f"Bearer {os.environ[\'INFERHOUSE_TOKEN\']}"},\n'
            f'    json={{"inputs": {inputs}}},\n)\nvectors = reply.json()'
        ),
        "huggingface_hub": (
            "import os\nfrom huggingface_hub import InferenceClient\n\n"
            f'client = InferenceClient(model={json.dumps(url)}, token=os.environ["INFERHOUSE_TOKEN"])\n'
            f"vectors = [client.feature_extraction(text) for text in {inputs}]"
        ),
        "openai": (
            "import os\nfrom openai import OpenAI\n\n"
            f"client = OpenAI(base_url={json.dumps(base_url + '/v1')}, "
            'api_key=os.environ["INFERHOUSE_TOKEN"])\n'
            f"reply = client.embeddings.create(model={json.dumps(name)}, input={inputs})\n"
            "vectors = [item.embedding for item in reply.data]"
        ),
    }


@router.post(f"{PREFIX}/endpoints/{{name}}/embed")
async def embed(name: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    texts = [line.strip() for line in fields.get("texts", "").splitlines() if line.strip()][:MAX_TEXTS]
    result: Embedded | None = None
    error = None
    async with api(request, session) as calls:
        if not texts:
            error = "Type one or more texts, one per line."
        else:
            try:
                vectors = await calls.post(f"/endpoints/{quote(name, safe='')}/embed", {"inputs": texts})
                result = Embedded(
                    texts=texts,
                    dimensions=len(vectors[0]),
                    first_values=[[round(value, 4) for value in vector[:FIRST_VALUES]] for vector in vectors],
                    similarity=[[round(value, 3) for value in line] for line in cosine_matrix(vectors)],
                    snippets=snippets(calls.base_url, name, texts),
                )
            except Refused as refused:
                if refused.status == 401:
                    raise
                error = refused.message
    context: dict[str, Any] = {"result": result, "error": error, "texts": "\n".join(texts), "name": name}
    if request.headers.get("hx-request"):
        return render(request, "playground_result.html", session, **context)
    context.update(await page_context(request, session, name))
    return render(request, "endpoint.html", session, **context)


async def _page_or_fragment(
    request: Request, session: Session, name: str, fragment: str, context: dict[str, Any]
) -> Response:
    """The result alone for htmx, or the whole endpoint page for a browser without scripts."""
    if request.headers.get("hx-request"):
        return render(request, fragment, session, **context)
    full = {"result": None, "error": None, "texts": "", **context}
    full.update(await page_context(request, session, name))
    return render(request, "endpoint.html", session, **full)


def _tryout(kind: str) -> Tryout:
    tryout = TRYOUTS.get(kind)
    if tryout is None:
        raise Refused(404, f"No playground {kind!r}")
    return tryout


@router.post(f"{PREFIX}/endpoints/{{name}}/try/{{kind}}")
async def try_task(name: str, kind: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    tryout = _tryout(kind)
    shown: Shown | None = None
    code: dict[str, str] = {}
    error = None
    async with api(request, session) as calls:
        try:
            body = tryout.body(name, fields)
            if tryout.kind == "text-to-image":
                content_type, image = await calls.post_for_bytes(path_of(tryout, name), body)
                reply: Any = f"data:{content_type};base64,{base64.b64encode(image).decode()}"
            else:
                reply = await calls.post(path_of(tryout, name), body)
            try:
                shown = tryout.shown(reply, body)
            except (KeyError, IndexError, TypeError, ValueError, AttributeError):
                raise Refused(
                    502, f"The endpoint's reply is not one the {tryout.title.lower()} playground can show"
                ) from None
            code = code_for(tryout, calls.base_url, name, body)
        except Refused as refused:
            if refused.status == 401:
                raise
            error = refused.message
    context = {
        "tryout": tryout,
        "shown": shown,
        "code": code,
        "try_error": error,
        "tried": fields,
        "tried_kind": kind,
    }
    return await _page_or_fragment(request, session, name, "tryout_result.html", context)


def _event(kind: str, data: Any) -> bytes:
    return f"event: {kind}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _text_of(event: Any) -> str | None:
    """The new text of one upstream event: a TGI token, or a chat completion's delta."""
    if not isinstance(event, dict):
        return None
    token = event.get("token")
    if isinstance(token, dict):
        return None if token.get("special") else str(token.get("text") or "")
    choices = event.get("choices")
    if isinstance(choices, list) and choices:
        return str((choices[0].get("delta") or {}).get("content") or "")
    return None


async def _relay(
    request: Request, session: Session, name: str, tryout: Tryout, body: Any
) -> AsyncIterator[bytes]:
    """The endpoint's stream as the dashboard's own events: ``token`` (text), ``error`` (message) and
    ``done`` (the code of the call), which playground.js reads."""
    path = path_of(tryout, name) + ("_stream" if tryout.kind == "generate" else "")
    streamed_body = body if tryout.kind == "generate" else {**body, "stream": True}
    base_url = str(request.base_url).rstrip("/")
    async with post_streamed(request, session.token or None, path, streamed_body) as reply:
        if reply.status >= 400:
            yield _event("error", {"message": await reply.error()})
            return
        if tryout.kind == "generate" and body["parameters"].get("return_full_text"):
            yield _event("token", {"text": body["inputs"]})
        pending = b""
        async for chunk in reply.chunks:
            pending += chunk
            *events, pending = pending.replace(b"\r\n", b"\n").split(b"\n\n")
            for raw in events:
                for line in raw.decode("utf-8", errors="replace").splitlines():
                    if not line.startswith("data:") or line[5:].strip() == "[DONE]":
                        continue
                    try:
                        event = json.loads(line[5:])
                    except ValueError:  # not an event this page knows how to show
                        continue
                    if isinstance(event, dict) and event.get("error"):
                        yield _event("error", {"message": str(event["error"])})
                        return
                    text = _text_of(event)
                    if text:
                        yield _event("token", {"text": text})
    yield _event("done", {"code": code_for(tryout, base_url, name, body)})


@router.post(f"{PREFIX}/endpoints/{{name}}/stream/{{kind}}")
async def stream_task(name: str, kind: str, request: Request) -> Response:
    session = session_of(request)
    fields = await checked_form(request, session)
    tryout = _tryout(kind)
    if not tryout.stream:
        raise Refused(404, f"The {kind} playground does not stream")
    try:
        body = tryout.body(name, fields)
    except Refused as refused:
        return StreamingResponse(
            iter([_event("error", {"message": refused.message})]), media_type="text/event-stream"
        )
    return StreamingResponse(
        _relay(request, session, name, tryout, body),
        media_type="text/event-stream",
        headers={"X-Accel-Buffering": "no"},
    )
