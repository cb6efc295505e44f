"""Replicas of a model called one request at a time: each copy has its own thread; all share a queue."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from inferhouse.errors import BackendFailure, InferhouseError, Overloaded, Unavailable

log = logging.getLogger(__name__)

M = TypeVar("M")
T = TypeVar("T")

_Work = tuple[Callable[[Any], Any], "Future[Any]"]


class ReplicaRunner(Generic[M]):
    """Whichever replica is free takes the next call; a full queue answers 429 instead of growing."""

    def __init__(self, models: Sequence[M], *, max_queued: int, name: str = "model") -> None:
        if not models:
            raise ValueError("a runner needs at least one model")
        self.models = list(models)
        self._max_queued = max_queued
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._queued = 0
        self._closed = False
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._serve, args=(model,), name=f"replica-{name}-{i}", daemon=True)
            for i, model in enumerate(self.models)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def replicas(self) -> int:
        return len(self._threads)

    @property
    def queued(self) -> int:
        return self._queued

    async def call(self, work: Callable[[M], T]) -> T:
        future: Future[T] = Future()
        # Checked and queued under the lock that close() takes, so no call lands behind the stop marks.
        with self._lock:
            if self._closed:
                raise Unavailable("The model was unloaded while this request waited; send it again")
            if self._queued >= self._max_queued:
                raise Overloaded("Model is overloaded")
            self._queued += 1
            self._queue.put((work, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop once every call queued so far is answered (the queue is first in, first out)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for _ in self._threads:
                self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout=30)

    def _serve(self, model: M) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            work, future = item
            with self._lock:
                self._queued -= 1
            if not future.set_running_or_notify_cancel():
                continue  # the caller went away before its turn
            try:
                future.set_result(work(model))
            except InferhouseError as error:
                future.set_exception(error)
            except Exception as error:  # a model bug fails its request, never the replica's thread
                log.exception("a call on %s failed", type(model).__name__)
                reason = f"{type(error).__name__}: {error}"[:300]
                future.set_exception(BackendFailure(f"The model failed on this input: {reason}"))
