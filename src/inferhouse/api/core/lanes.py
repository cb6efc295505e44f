"""ASGI layers that answer one hot POST path below FastAPI, and pass every other request on.

The embedding lane (``api/huggingface/fast_lane.py``) and the query lane (``api/pinecone/query_lane.py``)
each match their path with one regular expression instead of FastAPI's walk over every mounted route,
then answer with the dialect route's own functions (see ``api/core/dialect.py``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from inferhouse.api.core.services import Services


@dataclass(frozen=True, slots=True)
class RouteLabel:
    """What the request metrics read from ``scope["route"]``: the template the FastAPI route has."""

    path: str


@dataclass(frozen=True, slots=True)
class LaneCall:
    """A request a lane answers: the ASGI triple, its path's match, the services and its headers."""

    scope: Scope
    receive: Receive
    send: Send
    matched: re.Match[str]
    services: Services
    headers: Headers  # what the route would read, duplicates and all


class PostLane:
    """Answers the POST requests whose path matches :attr:`route` in full with :meth:`answer`."""

    route: ClassVar[re.Pattern[str]]

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self.route.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if matched is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        services: Services = scope["app"].state.services
        await self.answer(LaneCall(scope, receive, send, matched, services, Headers(scope=scope)))

    async def answer(self, call: LaneCall) -> None:
        raise NotImplementedError
