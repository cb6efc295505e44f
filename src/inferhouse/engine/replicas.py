"""Replicas of a model called one request at a time: each copy has its own thread; all share a queue."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from inferhouse.engine.work_queue import WorkQueue, join_workers, start_workers
from inferhouse.errors import BackendFailure, InferhouseError

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
        self._queue: WorkQueue[_Work] = WorkQueue(max_queued)
        self._threads = start_workers(self._serve, self.models, f"replica-{name}")

    @property
    def replicas(self) -> int:
        return len(self._threads)

    @property
    def queued(self) -> int:
        return self._queue.queued

    async def call(self, work: Callable[[M], T]) -> T:
        future: Future[T] = Future()
        self._queue.put((work, future))
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Stop once every call queued so far is answered (the queue is first in, first out)."""
        if self._queue.close(len(self._threads)):
            join_workers(self._threads)

    def _serve(self, model: M) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            work, future = item
            self._queue.release()
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
