"""Pinecone's ``POST /indexes/{name}/query``, answered below FastAPI.

A query is the data plane's hottest call, and at a few hundred a second FastAPI's route matching over
every mounted route costs as much event-loop time as the search itself (see benchmarks/README.md). This
ASGI layer answers the query path itself with the route's own steps: the token checked as the data
plane's ``general`` policy does, the body read within the limit and decoded as strict JSON, the reply
built by :func:`~inferhouse.api.pinecone.data.answer_query` (the function the route calls), and every
failure rendered in the data plane's error shape. So the route and this lane cannot disagree; the route
stays for the OpenAPI document and any path form this lane does not match.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from inferhouse.api.core.bodies import parse_json
from inferhouse.api.core.dialect import authorize_headers, body_chunks, read_limited, render_failure
from inferhouse.api.core.error_shapes import render_pinecone_data
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import Services
from inferhouse.api.pinecone.data import answer_query
from inferhouse.errors import BadRequest

_ROUTE = re.compile(r"/indexes/(?P<name>[^/]+)/query")


@dataclass(frozen=True, slots=True)
class _RouteLabel:
    """What the request metrics read from ``scope["route"]``: the route's own template."""

    path: str


_LABEL = _RouteLabel("/indexes/{index_name}/query")


class QueryFastLane:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = _ROUTE.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if matched is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        found: Services = scope["app"].state.services
        headers = Headers(scope=scope)
        scope["route"] = _LABEL
        try:
            authorize_headers(found, headers, "general")
            limit = found.settings.max_body_bytes
            raw = await read_limited(body_chunks(receive), headers.get("content-length"), limit)
            body = parse_json(raw)
            index = found.indexes.get(matched["name"])
            if not isinstance(body, dict):
                raise BadRequest("The body must be a JSON object")
            reply: Response = json_response(await answer_query(index, body))
        except Exception as error:
            reply = render_failure(render_pinecone_data, error, "POST", scope["path"])
        await reply(scope, receive, send)
