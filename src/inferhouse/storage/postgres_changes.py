"""Changes other processes make to a PostgreSQL database, as they commit: LISTEN on a channel that the
tables' triggers NOTIFY (each package's migrations add them), and call back.

One thread and one connection per channel, outside the pool: a listening connection must stay open and
idle. After a lost connection comes back the callback runs once more, since what changed meanwhile was
not announced to anyone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("inferhouse.storage")

RECONNECT_SECONDS = 1.0


def channel_of(table: str) -> str:
    """The channel the ``inferhouse_notify()`` trigger announces a change of ``table`` on."""
    return f"inferhouse_{table}"


class ChangeListener:
    def __init__(self, url: str, where: str, table: str, on_change: Callable[[], None]) -> None:
        self._url = url
        self._where = where
        self._channel = channel_of(table)
        self._on_change = on_change
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"listen-{table}", daemon=True)

    def start(self, timeout: float = 10.0) -> None:
        """Start listening; returns once LISTEN holds, so no change committed after this is missed."""
        self._thread.start()
        self._listening.wait(timeout)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg
        from psycopg import sql

        missed = False
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._url, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
                    self._listening.set()
                    if missed:
                        self._call()
                    while not self._stop.is_set():
                        # A burst of commits is one reload: what arrived within the timeout is drained.
                        if any(True for _ in conn.notifies(timeout=0.5)):
                            self._call()
            except psycopg.Error as error:
                missed = True
                log.warning("listening for %s on %s: %s; reconnecting", self._channel, self._where, error)
                self._stop.wait(RECONNECT_SECONDS)

    def _call(self) -> None:
        try:
            self._on_change()
        except Exception:
            log.exception("reacting to a change of %s", self._channel)
