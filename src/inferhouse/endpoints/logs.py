"""Recent log lines per endpoint: its lifecycle events, and what libraries log while its model loads."""

from __future__ import annotations

import logging
import time
from collections import deque
from contextvars import ContextVar

# Set while an endpoint's model loads (threads started with asyncio.to_thread inherit it), so records
# that transformers or a custom handler emit then are filed under that endpoint.
current_endpoint: ContextVar[str | None] = ContextVar("current_endpoint", default=None)

MAX_LINES = 1000


class EndpointLogs(logging.Handler):
    """A bounded buffer of lines per endpoint; as a logging handler, it files records by the
    ``current_endpoint`` they were emitted under."""

    def __init__(self, max_lines: int = MAX_LINES) -> None:
        super().__init__(logging.INFO)
        self._max_lines = max_lines
        self._lines: dict[str, deque[str]] = {}

    def add(self, endpoint: str, message: str, level: str = "INFO") -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        lines = self._lines.setdefault(endpoint, deque(maxlen=self._max_lines))
        for line in message.splitlines() or [""]:
            lines.append(f"{stamp}Z {level} {line}")

    def tail(self, endpoint: str, count: int) -> list[str]:
        lines = self._lines.get(endpoint)
        if not lines or count <= 0:
            return []
        return list(lines)[-count:]

    def forget(self, endpoint: str) -> None:
        self._lines.pop(endpoint, None)

    def emit(self, record: logging.LogRecord) -> None:
        endpoint = current_endpoint.get()
        if endpoint is None:
            return
        try:
            self.add(endpoint, f"{record.name}: {record.getMessage()}", record.levelname)
        except Exception:  # logging must never break the code that logs
            self.handleError(record)
