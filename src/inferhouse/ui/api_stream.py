"""A streamed call of the public HTTP API, in-process, as the signed-in token.

:class:`~inferhouse.ui.api_calls.Api` goes through httpx's ASGI transport, which hands back a body only
once the app has finished it; a generation's server-sent events must reach the browser as they come. This
calls the application's ASGI stack directly (the same middleware, routes and access checks as a request
from outside) and yields the body chunk by chunk.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.requests import Request

from inferhouse.ui.api_calls import error_message

_END = object()


@dataclass
class StreamedReply:
    status: int
    chunks: AsyncIterator[bytes]

    async def error(self) -> str:
        """The message of an error reply (its whole body read)."""
        body = b"".join([chunk async for chunk in self.chunks])
        return error_message(httpx.Response(self.status, content=body))


def _scope(request: Request, token: str | None, path: str, body: bytes) -> dict[str, Any]:
    base = urlsplit(str(request.base_url))
    headers = [
        (b"host", (base.netloc or "localhost").encode("latin-1")),
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"accept", b"text/event-stream"),
    ]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode("latin-1")))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": base.scheme or "http",
        "path": path,
        "raw_path": path.encode("utf-8"),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 0),
        "server": (base.hostname or "localhost", base.port or 80),
        "state": {},
    }


@asynccontextmanager
async def post_streamed(
    request: Request, token: str | None, path: str, payload: Any
) -> AsyncIterator[StreamedReply]:
    """POST ``payload`` as JSON to ``path``; on leaving, a call still running is told the client left
    (the API stops its generation) and is cancelled."""
    body = json.dumps(payload).encode("utf-8")
    messages: asyncio.Queue[Any] = asyncio.Queue()
    left = asyncio.Event()
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        await messages.put(message)

    async def run() -> None:
        try:
            await request.app(_scope(request, token, path, body), receive, send)
        finally:
            await messages.put(_END)

    task = asyncio.create_task(run())

    async def chunks() -> AsyncIterator[bytes]:
        while True:
            message = await messages.get()
            if message is _END:
                return
            if message.get("type") == "http.response.body":
                if message.get("body"):
                    yield message["body"]
                if not message.get("more_body", False):
                    return

    try:
        start = await messages.get()
        if start is _END:  # the app failed before it answered
            await task
            raise RuntimeError("the API gave no reply")
        yield StreamedReply(int(start["status"]), chunks())
    finally:
        left.set()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)
