"""The replicas behind a work queue in this process: their models and worker threads, grown from a build
callable and shrunk by stop marks, and what each has done. Shared by the two in-process runtimes
(replicas.py, batcher.py)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from inferhouse.engine.work_queue import UNLOADED, WorkQueue
from inferhouse.errors import BackendFailure, InferhouseError, Unavailable

log = logging.getLogger(__name__)

M = TypeVar("M")
R = TypeVar("R")

NO_REPLICAS = "The model is scaled to zero replicas; send the request again once it is scaled up"
# How long scale() and stop() wait for replicas to finish the work they took.
STOP_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class ReplicaWork:
    """What one replica did, reported as it happens (for metrics): ``calls`` requests taken, ``inputs``
    computed and ``busy_seconds`` of its threads' time. ``slot`` names the replica: the lowest number
    (0, 1, ...) no live replica holds when it starts, so a replacement reuses the slot of the one it
    replaces and the numbers stay below the most replicas ever running at once."""

    slot: int
    calls: int = 0
    inputs: int = 0
    busy_seconds: float = 0.0


WorkReport = Callable[[ReplicaWork], None]


@dataclass(eq=False)
class Replica(Generic[M]):
    """One copy of the model, its slot and the count of its live worker threads (several where it runs
    passes concurrently). ``stopping``: it takes no new work and its threads leave once idle."""

    model: M
    threads: int
    slot: int = 0
    stopping: bool = False


class Roster(Generic[M]):
    """Starts each replica's threads on ``serve(replica)``, which loops on the queue until it takes a stop
    mark (then calls :meth:`took_stop`) or finds its replica ``stopping``.

    A stop mark is queued behind the work accepted before it, so stopping never strands a request; each
    mark stops exactly one replica, whichever worker takes it. Without ``build``, stopped copies are kept
    so a later scale can start them again: there is no other way to make one. ``on_work`` hears what
    each replica did (:meth:`report`), and an empty report for each replica that starts.
    """

    def __init__(
        self,
        queue: WorkQueue[Any],
        serve: Callable[[Replica[M]], None],
        *,
        prefix: str,
        build: Callable[[], M] | None = None,
        threads_of: Callable[[M], int] = lambda _: 1,
        wake: Callable[[], None] | None = None,
        on_work: WorkReport | None = None,
    ) -> None:
        self._queue = queue
        self._serve = serve
        self._prefix = prefix
        self._build = build
        self._threads_of = threads_of
        self._wake = wake  # wakes idle workers so a stopping replica's other threads notice
        self._on_work = on_work
        self._lock = threading.Condition()
        self._scaling = threading.Lock()  # one scale or stop at a time
        self._replicas: list[Replica[M]] = []
        self._spare: list[M] = []
        self._target = 0
        self._started = 0
        self._stopped = False
        self.workers = 0  # threads of replicas not stopping

    @property
    def replicas(self) -> int:
        return self._target

    @property
    def stopped(self) -> bool:
        return self._stopped

    def models(self) -> list[M]:
        with self._lock:
            return [replica.model for replica in self._replicas if not replica.stopping]

    def start(self, models: Sequence[M]) -> None:
        with self._lock:
            for model in models:
                replica = Replica(model, max(1, self._threads_of(model)), self._free_slot())
                self._replicas.append(replica)
                self.report(replica)  # its series exist, at zero, before its first call
                self.workers += replica.threads
                for _ in range(replica.threads):
                    name = f"{self._prefix}-{self._started}"
                    threading.Thread(target=self._run, args=(replica,), name=name, daemon=True).start()
                    self._started += 1
            self._target += len(models)

    def scale(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"replicas must be at least 0, got {n}")
        with self._scaling:
            if self._stopped:
                raise Unavailable(UNLOADED)
            if n > self._target:
                self._grow(n - self._target)
            elif n < self._target:
                self._shrink(self._target - n)

    def stop(self) -> None:
        with self._scaling, self._lock:
            if self._stopped:
                return
            # One mark per thread: threads of a replica already stopping pass theirs on (took_stop).
            self._queue.close(sum(replica.threads for replica in self._replicas))
            self._stopped = True
            self._target = 0
            self._spare.clear()
            self._wait_for(0)

    def report(self, replica: Replica[M], calls: int = 0, inputs: int = 0, busy_seconds: float = 0.0) -> None:
        """Tell ``on_work`` what ``replica`` did (called by its worker threads)."""
        if self._on_work is not None:
            self._on_work(ReplicaWork(replica.slot, calls, inputs, busy_seconds))

    def took_stop(self, replica: Replica[M]) -> None:
        """Called by a worker of ``replica`` that took a stop mark, before it returns."""
        with self._lock:
            if replica.stopping:
                self._queue.pass_on_stop()  # this replica was stopping anyway: the mark is another's
                return
            replica.stopping = True
            self.workers -= replica.threads
        if self._wake is not None:
            for _ in range(replica.threads - 1):
                self._wake()

    def _grow(self, count: int) -> None:
        with self._lock:
            reused = [self._spare.pop() for _ in range(min(count, len(self._spare)))]
        if len(reused) < count and self._build is None:
            with self._lock:
                self._spare.extend(reused)
            raise ValueError(
                f"Cannot scale up to {self._target + count} replicas: this runtime was started without "
                "build=, so it has no way to make more copies than it started with"
            )
        built = [self._build() for _ in range(count - len(reused))] if self._build is not None else []
        self.start([*reused, *built])
        self._queue.reopen()

    def _shrink(self, count: int) -> None:
        with self._lock:
            # Refused before the count says zero: a caller that reads zero never finds its call queued.
            self._queue.stop_some(count, NO_REPLICAS if self._target == count else None)
            self._target -= count
            self._wait_for(self._target)

    def _free_slot(self) -> int:
        """The lowest slot no live replica holds (called holding the lock); a replica that is stopping
        keeps its slot until its threads have left."""
        taken = {replica.slot for replica in self._replicas}
        return next(slot for slot in range(len(taken) + 1) if slot not in taken)

    def _wait_for(self, replicas: int) -> None:
        """Wait (holding the condition) until only ``replicas`` replicas have threads left."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while len(self._replicas) > replicas:
            left = deadline - time.monotonic()
            if left <= 0:
                log.warning(
                    "%s: replicas still busy after %.0f s; left to finish", self._prefix, STOP_TIMEOUT_S
                )
                return
            self._lock.wait(left)

    def _run(self, replica: Replica[M]) -> None:
        try:
            self._serve(replica)
        finally:
            with self._lock:
                replica.threads -= 1
                if replica.threads == 0:
                    self._replicas.remove(replica)
                    if self._build is None and not self._stopped:
                        self._spare.append(replica.model)
                    self._lock.notify_all()


def settle(future: Future[R], work: Callable[[M], R], model: M, before: Callable[[], None]) -> None:
    """Run ``work(model)`` into ``future``, calling ``before`` first (to count it answered). A model bug
    fails its own request as a :class:`BackendFailure`, never the worker thread."""
    try:
        result = work(model)
    except InferhouseError as error:
        before()
        future.set_exception(error)
    except Exception as error:
        log.exception("a call on %s failed", type(model).__name__)
        before()
        reason = f"{type(error).__name__}: {error}"[:300]
        future.set_exception(BackendFailure(f"The model failed on this input: {reason}"))
    else:
        before()
        future.set_result(result)
