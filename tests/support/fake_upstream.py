"""A scriptable stand-in for a remote inference server, on a free 127.0.0.1 port.

Tests queue canned :class:`Reply` objects (served in order) or set a ``handler`` that answers each
request; every request is recorded with its arrival time, headers and body so a test can check what
was sent and when. The server speaks HTTP/1.1 with keep-alive, as a real upstream would, so clients
reuse their pooled connections.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One canned answer. ``body`` that is not ``bytes`` or ``str`` is sent as JSON.

    ``drop`` closes the connection with a TCP reset after reading the request, without answering.
    """

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body).encode("utf-8")


@dataclass(frozen=True)
class Received:
    """One request as it arrived."""

    at: float  # time.monotonic() when its headers were read
    method: str
    path: str
    headers: dict[str, str]  # keys lower-cased
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Received], Reply]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hung up on a slow reply (a timeout test) is expected, not news


class FakeUpstream:
    """Serves queued replies first, then ``handler``'s, then ``default`` (an empty 200)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replies: deque[Reply] = deque()
        self._received: list[Received] = []
        self.handler: Handler | None = None
        self.default = Reply(200, b"")
        self._server = _QuietServer(("127.0.0.1", 0), self._request_handler_class())
        # A short poll interval keeps stop() (which waits for the serving loop to notice) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-upstream",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/embed"

    def queue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self, request: Received) -> Reply:
        with self._lock:
            self._received.append(request)
            if self._replies:
                return self._replies.popleft()
        if self.handler is not None:
            return self.handler(request)
        return self.default

    def _request_handler_class(self) -> type[BaseHTTPRequestHandler]:
        upstream = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                request = Received(
                    at=arrived,
                    method=self.command,
                    path=self.path,
                    headers={key.lower(): value for key, value in self.headers.items()},
                    body=body,
                )
                reply = upstream._answer(request)
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.drop:
                    # SO_LINGER with a zero timeout makes close() send a reset instead of a clean FIN.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                payload = reply.encoded()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return RequestHandler


@contextmanager
def running_upstream() -> Iterator[FakeUpstream]:
    upstream = FakeUpstream()
    upstream.start()
    try:
        yield upstream
    finally:
        upstream.stop()


def closed_port_url() -> str:
    """A 127.0.0.1 URL on which nothing listens, so connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/embed"
