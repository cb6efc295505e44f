"""Server-sent event responses that release what they hold when the stream ends, however it ends.

A stream holds an endpoint's deployment (so an update or a retire does not close the model under it)
and a place in the generator's batch. Both must be given back when the last event is sent, when the
client goes away mid-stream, and also when the response never starts streaming at all (a client that
hung up before the headers went out): so the cleanup belongs to the response, not to the body
generator, whose ``finally`` never runs if it was never started.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any

import orjson
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from inferhouse.engine.generation.contract import GenerationStream

log = logging.getLogger(__name__)

_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def sse_data(payload: Any, *, space: bool = True) -> bytes:
    """One ``data:`` event. TGI writes ``data:{json}``; OpenAI writes ``data: {json}``; clients read both."""
    prefix = b"data: " if space else b"data:"
    return prefix + orjson.dumps(payload) + b"\n\n"


DONE = b"data: [DONE]\n\n"


class EventStream(StreamingResponse):
    """``text/event-stream`` over ``events``; ``resources`` is closed once the response is over."""

    media_type = "text/event-stream"

    def __init__(self, events: AsyncIterator[bytes], resources: AsyncExitStack) -> None:
        super().__init__(events, headers=_HEADERS)
        self._events = events
        self._resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # Neither step suspends, so a cancelled request task still runs both to the end.
            closer = getattr(self._events, "aclose", None)
            if closer is not None:
                try:
                    await closer()
                except Exception:  # pragma: no cover - a body generator that fails while closing
                    log.exception("closing an event stream failed")
            await self._resources.aclose()


def stop_unless_done(stream: GenerationStream) -> None:
    """Cancel a generation whose stream ends before its last token (registered on the resources an
    :class:`EventStream` releases, so it also runs when the body was never iterated)."""
    if stream.result is None:
        stream.cancel()
