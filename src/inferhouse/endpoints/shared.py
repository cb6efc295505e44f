"""Endpoints shared by several servers on one PostgreSQL database.

Every committed change to the endpoints table is announced (``NOTIFY inferhouse_endpoints``, see
:mod:`inferhouse.storage.postgres_changes`); on each announcement this server reads every stored row and
brings its own endpoints in line (``EndpointManager.follow``, as :mod:`inferhouse.endpoints.reconcile`
plans).
A listening connection that was lost and comes back announces once more, so what changed meanwhile is
followed in full.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading

from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.store import EndpointStore

log = logging.getLogger(__name__)


class EndpointFollower:
    """Calls ``manager.follow`` on the app's event loop after other servers change stored endpoints."""

    def __init__(
        self, manager: EndpointManager, store: EndpointStore, loop: asyncio.AbstractEventLoop
    ) -> None:
        self._manager = manager
        self._store = store
        self._loop = loop
        self._following = False  # from start() to stop(): before, the manager has not read the rows
        self._lock = threading.Lock()
        self._scheduled = False  # one pass waits on the loop at most: it reads whatever came before it

    def changed(self) -> None:
        """From the listening thread: a change was committed (or may have been missed)."""
        with self._lock:
            if self._scheduled or self._loop.is_closed():
                return
            self._scheduled = True
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the server is stopping
            self._loop.call_soon_threadsafe(self._follow)

    def start(self) -> None:
        """Follow from now on (once the manager has started), and catch up once on what changed since it
        read the rows."""
        self._following = True
        self._follow()

    def stop(self) -> None:
        self._following = False

    def _follow(self) -> None:
        with self._lock:
            self._scheduled = False
        if not self._following:
            return
        try:
            # Read and applied in one turn of the loop: no change made through this server falls between.
            self._manager.follow(self._store.load_all())
        except Exception:  # the next announcement tries again; the server keeps serving what it has
            log.exception("following the stored endpoints failed")
