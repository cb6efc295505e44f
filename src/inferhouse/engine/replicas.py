"""Replicas of a model called one request at a time: each copy has its own thread; all share a queue.
The in-process :class:`~inferhouse.engine.runtime.Runtime` for every task but embeddings."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Generic, TypeVar

from inferhouse.engine.roster import Replica, Roster, WorkReport, settle
from inferhouse.engine.runtime import Call, RuntimeHealth
from inferhouse.engine.work_queue import WorkQueue

M = TypeVar("M")
T = TypeVar("T")

_Work = tuple[Callable[[Any], Any], "Future[Any]"]


class ReplicaRunner(Generic[M]):
    """Whichever replica is free takes the next call; a full queue answers 429 instead of growing.

    ``build`` makes the copies :meth:`scale` adds; without it, the runner cannot grow past the copies it
    was given. ``on_work`` hears each call a replica answers (one call, one input, the seconds it took).
    """

    batches = False
    scales_itself = False

    def __init__(
        self,
        models: Sequence[M],
        *,
        max_queued: int,
        name: str = "model",
        build: Callable[[], M] | None = None,
        on_work: WorkReport | None = None,
    ) -> None:
        if not models:
            raise ValueError("a runner needs at least one model")
        self._queue: WorkQueue[_Work] = WorkQueue(max_queued)
        self._running = 0  # calls taken by a replica and not yet answered (the queue counts the others)
        self._running_lock = threading.Lock()
        self._roster: Roster[M] = Roster(
            self._queue, self._serve, prefix=f"replica-{name}", build=build, on_work=on_work
        )
        self._roster.start(models)

    @property
    def models(self) -> list[M]:
        return self._roster.models()

    @property
    def replicas(self) -> int:
        return self._roster.replicas

    @property
    def target_replicas(self) -> int:
        return self._roster.replicas

    @property
    def queued(self) -> int:
        return self._queue.queued

    async def call(self, work: Call[M, T]) -> T:
        future: Future[T] = Future()
        self._queue.put((work, future))
        return await asyncio.wrap_future(future)

    def scale(self, n: int) -> None:
        self._roster.scale(n)

    def health(self) -> RuntimeHealth:
        return RuntimeHealth(self.replicas, self._queue.queued + self._running, self._roster.stopped)

    def stop(self) -> None:
        """Stop once every call queued so far is answered (the queue is first in, first out)."""
        self._roster.stop()

    def close(self) -> None:
        self.stop()

    def _serve(self, replica: Replica[M]) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                self._roster.took_stop(replica)
                return
            work, future = item
            with self._running_lock:
                self._running += 1
            self._queue.release()
            if not future.set_running_or_notify_cancel():
                self._answered()
                continue  # the caller went away before its turn
            self._run_one(replica, work, future)

    def _run_one(self, replica: Replica[M], work: Callable[[M], Any], future: Future[Any]) -> None:
        started = time.perf_counter()

        def answered() -> None:  # before the caller hears back, so a scrape after its reply sees it
            self._roster.report(replica, 1, 1, time.perf_counter() - started)
            self._answered()

        settle(future, work, replica.model, answered)

    def _answered(self) -> None:
        with self._running_lock:
            self._running -= 1


def start_threads(
    build: Callable[[], M],
    replicas: int,
    *,
    max_queued: int,
    name: str = "model",
    on_work: WorkReport | None = None,
) -> ReplicaRunner[M]:
    """A :class:`ReplicaRunner` of ``replicas`` copies made by ``build`` (blocking: it loads them)."""
    models = [build() for _ in range(replicas)]
    return ReplicaRunner(models, max_queued=max_queued, name=name, build=build, on_work=on_work)
