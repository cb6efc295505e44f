"""The queue in front of a model's worker threads: bounded (429 past it), closable (503 after), FIFO."""

from __future__ import annotations

import queue
import threading
from typing import Generic, TypeVar

from inferhouse.errors import Overloaded, Unavailable

W = TypeVar("W")

UNLOADED = "The model was unloaded while this request waited; send it again"


class WorkQueue(Generic[W]):
    """Work items weighted by ``size`` (inputs), at most ``capacity`` of them waiting or running.

    ``None`` from :meth:`get` is a stop mark: one per worker is queued by :meth:`close` (or per replica
    to stop by :meth:`stop_some`), behind all the work accepted before it, so stopping answers
    everything already queued.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._items: queue.SimpleQueue[W | None] = queue.SimpleQueue()
        self._queued = 0
        self._closed = False
        self._refusal: str | None = None  # why new work is refused (503), while it is
        self._lock = threading.Lock()

    @property
    def queued(self) -> int:
        return self._queued

    def put(self, item: W, size: int = 1) -> None:
        # Checked and queued under the lock close() takes, so no item lands behind the stop marks.
        with self._lock:
            if self._refusal is not None:
                raise Unavailable(self._refusal)
            if self._queued + size > self._capacity:
                raise Overloaded("Model is overloaded")
            self._queued += size
            self._items.put(item)

    def nudge(self, marker: W) -> None:
        """Queue ``marker`` outside the bound (it is not work): a signal to whichever worker is idle."""
        self._items.put(marker)

    def release(self, size: int = 1) -> None:
        """Give back the room an item took, once it is answered (or abandoned)."""
        with self._lock:
            self._queued -= size

    def get(self, timeout: float | None = None) -> W | None:
        """The next item, blocking; raises :class:`queue.Empty` when ``timeout`` passes first."""
        return self._items.get(timeout=timeout)

    def get_nowait(self) -> W | None:
        return self._items.get_nowait()

    def close(self, workers: int) -> bool:
        """Refuse new work and queue one stop mark per worker; False if it was closed already."""
        with self._lock:
            if self._closed:
                return False
            self._closed = True
            self._refusal = UNLOADED
            for _ in range(workers):
                self._items.put(None)
            return True

    def stop_some(self, marks: int, refusal: str | None = None) -> None:
        """Queue ``marks`` stop marks without closing; with ``refusal``, refuse new work until
        :meth:`reopen` (no worker would be left to take it)."""
        with self._lock:
            if self._closed:
                return
            if refusal is not None:
                self._refusal = refusal
            for _ in range(marks):
                self._items.put(None)

    def pass_on_stop(self) -> None:
        """Queue again a stop mark that a worker took while stopping anyway: it is meant for another."""
        self._items.put(None)

    def reopen(self) -> None:
        """Take new work again after :meth:`stop_some` refused it (workers have started); not once closed."""
        with self._lock:
            if not self._closed:
                self._refusal = None
