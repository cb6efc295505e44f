"""The app in the test process: ``create_app(settings)`` with its lifespan run, reached over httpx's ASGI
transport instead of a socket.

Use it for tests that only send requests and read replies. A test that needs a real process (kill -9,
restart, log files, the CLI) or a real client library that opens its own connections stays on
``tests.support.server``.

The app runs on an event loop in a portal thread (anyio), so tests stay synchronous: ``InProcessServer.http``
is a plain ``httpx.Client`` (send a raw body with ``content=``, as bytes or an iterator of chunks).
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI

from inferhouse.app import create_app
from inferhouse.settings import Settings
from tests.support.server import LOADING_STATES, START_TIMEOUT_S

BASE_URL = "http://inferhouse.test"


class _PortalTransport(httpx.BaseTransport):
    """Hands each request to ``httpx.ASGITransport`` on the portal's loop and returns the buffered reply."""

    def __init__(self, portal: BlockingPortal, app: FastAPI) -> None:
        self._portal = portal
        self._asgi = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Read the body here (a sync iterator must be drained in this thread), keeping its chunks.
        chunks = list(request.stream) if isinstance(request.stream, httpx.SyncByteStream) else []
        return self._portal.call(self._send, request, chunks)

    async def _send(self, request: httpx.Request, chunks: list[bytes]) -> httpx.Response:
        async def body() -> AsyncIterator[bytes]:
            for chunk in chunks:
                yield chunk

        relayed = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,
            content=body(),
            extensions=request.extensions,
        )
        reply = await self._asgi.handle_async_request(relayed)
        raw = b"".join([chunk async for chunk in reply.stream])  # type: ignore[union-attr]
        return httpx.Response(reply.status_code, headers=reply.headers, stream=httpx.ByteStream(raw))


@dataclass
class InProcessServer:
    """Quacks like ``RunningServer`` for tests that need only ``url``, ``headers`` and requests."""

    app: FastAPI
    http: httpx.Client
    token: str | None
    data_dir: Path
    log_buffer: io.StringIO = field(default_factory=io.StringIO)
    url: str = BASE_URL
    headers: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        """What was logged in this process while the app ran (tracebacks included), as a server log."""
        return self.log_buffer.getvalue()


@contextmanager
def _environment(env: Mapping[str, str]) -> Iterator[None]:
    """The environment a subprocess server would get (no stray ``INFERHOUSE_*``), while settings are read."""
    saved = dict(os.environ)
    for key in [key for key in os.environ if key.startswith("INFERHOUSE_")]:
        del os.environ[key]
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_for(data_dir: Path, *, token: str | None, env: Mapping[str, str] | None = None) -> Settings:
    """Settings as ``start_server`` would give the subprocess: torch backend, no admission limit, the
    admin token, ``env``."""
    wanted = {"INFERHOUSE_BACKEND": "torch", "INFERHOUSE_MAX_QUEUE_SECONDS": "0", **(env or {})}
    if token is not None:
        wanted["INFERHOUSE_ADMIN_TOKEN"] = token
    with _environment(wanted):
        given: dict[str, Any] = {"data_dir": data_dir}
        return Settings(**given)


@contextmanager
def serve_in_process(
    data_dir: Path,
    *,
    token: str | None = "test-admin-token",
    env: Mapping[str, str] | None = None,
    wait_for_endpoints: bool = True,
) -> Iterator[InProcessServer]:
    """Run the app's lifespan in a portal thread; by default yield once every endpoint is done loading."""
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    app = create_app(settings_for(data_dir, token=token, env=env))
    with ExitStack() as stack:
        portal = stack.enter_context(start_blocking_portal())
        stack.enter_context(portal.wrap_async_context_manager(app.router.lifespan_context(app)))
        http = stack.enter_context(
            httpx.Client(transport=_PortalTransport(portal, app), base_url=BASE_URL, timeout=60)
        )
        server = InProcessServer(app, http, token, data_dir)
        stack.enter_context(_logging_to(server.log_buffer))
        if token is not None:
            server.headers = {"Authorization": f"Bearer {token}"}
        if wait_for_endpoints:
            _wait_for_endpoints(server)
        yield server


@contextmanager
def _logging_to(buffer: io.StringIO) -> Iterator[None]:
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _wait_for_endpoints(server: InProcessServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        health = server.http.get("/health", headers=server.headers)
        if health.status_code == 200 and not set(health.json()["endpoints"].values()) & LOADING_STATES:
            return
        time.sleep(0.1)
    raise RuntimeError(f"endpoints still loading after {START_TIMEOUT_S}s: {health.text}")
