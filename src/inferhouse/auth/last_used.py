"""When each stored token was last used, written at most once a minute per token and off the request's
path: a busy token would otherwise write on every request, and a slow or failing database must neither
delay nor fail the request that used the token."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from inferhouse.auth.table import TokenTable

logger = logging.getLogger(__name__)

# The dashboard shows minutes; writing more often would say nothing more.
RECORD_INTERVAL = 60.0


def in_a_thread(write: Callable[[], None]) -> None:
    """Run a write on a thread of its own (at most one a minute per token, so threads stay rare); a
    daemon, so a write stuck on the database never holds the server's exit."""
    threading.Thread(target=write, name="token-last-used", daemon=True).start()


class UseRecorder:
    """Records uses of stored tokens in a :class:`TokenTable`, remembering in memory when it last wrote
    each one so that uses within ``interval`` seconds of that write are not written again."""

    def __init__(
        self,
        table: TokenTable,
        clock: Callable[[], float] = time.time,
        run: Callable[[Callable[[], None]], None] = in_a_thread,
        interval: float = RECORD_INTERVAL,
    ) -> None:
        self._table = table
        self._clock = clock
        self._run = run  # where a write runs: its own thread unless a test runs it in place
        self._interval = interval
        self._written: dict[str, float] = {}
        self._lock = threading.Lock()

    def used(self, token_hash: str) -> None:
        now = self._clock()
        with self._lock:
            last = self._written.get(token_hash)
            if last is not None and now - last < self._interval:
                return
            # Claimed before writing, so concurrent uses write once and a failing database is not
            # retried on every request.
            self._written[token_hash] = now
        self._run(lambda: self._write(token_hash, now))

    def forget(self, token_hash: str) -> None:
        """Drop what is remembered of a revoked token."""
        with self._lock:
            self._written.pop(token_hash, None)

    def _write(self, token_hash: str, at: float) -> None:
        try:
            self._table.record_use(token_hash, at)
        except Exception:  # any database failure: the use was served, only its record is lost
            logger.warning("Could not record when a token was last used", exc_info=True)
