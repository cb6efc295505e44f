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

from starlette.responses import Response

from inferhouse.api.core.bodies import parse_json
from inferhouse.api.core.dialect import authorize_headers, body_chunks, read_limited, render_failure
from inferhouse.api.core.error_shapes import render_pinecone_data
from inferhouse.api.core.lanes import LaneCall, PostLane, RouteLabel
from inferhouse.api.core.responses import json_response
from inferhouse.api.pinecone.data import answer_query
from inferhouse.errors import BadRequest

_LABEL = RouteLabel("/indexes/{index_name}/query")


class QueryFastLane(PostLane):
    route = re.compile(r"/indexes/(?P<name>[^/]+)/query")

    async def answer(self, call: LaneCall) -> None:
        scope, receive, send = call.scope, call.receive, call.send
        found, headers = call.services, call.headers
        scope["route"] = _LABEL
        try:
            authorize_headers(found, headers, "general")
            limit = found.settings.max_body_bytes
            raw = await read_limited(body_chunks(receive), headers.get("content-length"), limit)
            body = parse_json(raw)
            index = found.indexes.get(call.matched["name"])
            if not isinstance(body, dict):
                raise BadRequest("The body must be a JSON object")
            reply: Response = json_response(await answer_query(index, body))
        except Exception as error:
            reply = render_failure(render_pinecone_data, error, "POST", scope["path"])
        await reply(scope, receive, send)
