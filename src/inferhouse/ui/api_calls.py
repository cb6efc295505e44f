"""The dashboard's one way to the server's services: the public HTTP API, called in-process.

Every call carries the signed-in token as ``Authorization: Bearer``, so the dashboard sees and does
exactly what that token may through the API, and every access check is the API's own. Calls go
through the application's ASGI stack in the same process (no socket, no second server).
"""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request

# In-process calls finish in milliseconds; a model call (the playground) may wait on a loading replica.
CALL_TIMEOUT_S = 60.0


class Refused(Exception):
    """The API answered with an error: its status and the message it gave."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_message(reply: httpx.Response) -> str:
    """The message of an API error in any of its dialects' shapes."""
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:500] or f"HTTP {reply.status_code}"
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            error = error.get("message") or error.get("reason")
        if isinstance(error, str):
            return error
        for key in ("message", "detail"):
            if isinstance(body.get(key), str):
                return str(body[key])
    return f"HTTP {reply.status_code}"


class Api:
    """Calls of one dashboard request, as the token it was given (None: no token, as when signing in
    to a server with authentication off)."""

    def __init__(self, request: Request, token: str | None) -> None:
        self.base_url = str(request.base_url).rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=request.app),
            base_url=self.base_url,
            headers=headers,
            timeout=CALL_TIMEOUT_S,
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._client.aclose()

    async def call(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        """The decoded JSON reply (text for a text reply, None for an empty one); :class:`Refused` on an
        error status."""
        reply = await self._client.request(method, path, json=json, params=params or None)
        if reply.status_code >= 400:
            raise Refused(reply.status_code, error_message(reply))
        if not reply.content:
            return None
        if reply.headers.get("content-type", "").startswith("application/json"):
            return reply.json()
        return reply.text

    async def post_for_bytes(self, path: str, json: Any) -> tuple[str, bytes]:
        """The content type and bytes of a reply that is not JSON (an image); :class:`Refused` on an
        error status."""
        reply = await self._client.request("POST", path, json=json)
        if reply.status_code >= 400:
            raise Refused(reply.status_code, error_message(reply))
        return reply.headers.get("content-type", "application/octet-stream"), reply.content

    async def get(self, path: str, **params: Any) -> Any:
        return await self.call("GET", path, **params)

    async def post(self, path: str, json: Any = None) -> Any:
        return await self.call("POST", path, json=json)

    async def put(self, path: str, json: Any) -> Any:
        return await self.call("PUT", path, json=json)

    async def delete(self, path: str) -> Any:
        return await self.call("DELETE", path)
