"""Dynamic batching: concurrent requests are merged into length-sorted forward passes on one thread.
The in-process :class:`~inferhouse.engine.runtime.Runtime` for embedding models."""

from __future__ import annotations

import asyncio
import collections
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from inferhouse.engine.admission import Admission, estimated_tokens
from inferhouse.engine.backends.base import EmbeddingBackend, TruncationDirection
from inferhouse.engine.batch_jobs import (
    WAKE,
    BatchOutput,
    BatchStats,
    Job,
    Ledger,
    PendingCall,
    QueueItem,
    Wake,
)
from inferhouse.engine.heap import trim_heap
from inferhouse.engine.planning import pass_budget, plan_round, should_pack
from inferhouse.engine.roster import Replica, Roster, WorkReport, settle
from inferhouse.engine.runtime import Call, RuntimeHealth
from inferhouse.engine.work_queue import WorkQueue
from inferhouse.errors import BackendFailure, InferhouseError

__all__ = ["BatchOutput", "BatchStats", "Batcher", "start_batching"]

log = logging.getLogger(__name__)

T = TypeVar("T")

# A worker idle this long after work returns the freed heap to the OS (see ``engine/heap.py``).
IDLE_TRIM_S = 2.0
# A round bounded by admission still takes this many inputs per worker: smaller passes lose more to their
# fixed cost than they save in waiting, and a slower rate would shrink rounds further (measured with
# torch under overload, single runs: passes fell from 30 to 13 inputs and throughput from 240 to 121
# sentences/s without this floor).
MIN_ROUND_INPUTS = 16
# An idle worker of a replica with several threads looks this often whether its replica was stopped
# (scaled away) by a sibling; a wake usually tells it sooner.
STOP_POLL_S = 0.5


class Batcher:
    """Owns one worker thread per replica of a model; the only place where its forward passes run.

    Every replica serves the same queue. Each round a worker drains the queue, tokenizes every new
    request in one call, sorts the inputs by length and cuts them into batches (see
    :func:`plan_batches`). A request resolves as soon as its last input is computed, not at the end
    of the round.

    ``build`` makes the copies :meth:`scale` adds; without it, the batcher cannot grow past the
    backends it was given. ``on_work`` hears what each replica did: the requests it took (a round's
    tokenizing counts as their time), and each forward pass it ran (its inputs and seconds).
    """

    batches = True
    scales_itself = False

    def __init__(
        self,
        backends: EmbeddingBackend | Sequence[EmbeddingBackend],
        *,
        max_queued_inputs: int,
        max_batch_tokens: int = 16384,
        max_batch_size: int = 64,
        max_wait_s: float = 0.0,
        max_queue_s: float = 0.0,
        on_batch: Callable[[BatchStats], None] | None = None,
        on_work: WorkReport | None = None,
        name: str = "model",
        clock: Callable[[], float] = time.perf_counter,
        build: Callable[[], EmbeddingBackend] | None = None,
    ) -> None:
        replicas = list(backends) if isinstance(backends, Sequence) else [backends]
        if not replicas:
            raise ValueError("a batcher needs at least one backend")
        self._max_tokens = max_batch_tokens
        self._max_size = max_batch_size
        self._max_wait = max_wait_s
        self._on_batch = on_batch
        self._queue: WorkQueue[QueueItem] = WorkQueue(max_queued_inputs)
        # Planned passes not yet taken; any idle worker runs the next one (see ``_round``).
        self._ready: collections.deque[list[tuple[Job, int]]] = collections.deque()
        self._ready_lock = threading.Lock()
        self._max_input_length = replicas[0].max_input_length
        self.admission = Admission(max_queue_s, clock)
        self._ledger = Ledger(self._queue, self.admission)
        self._roster: Roster[EmbeddingBackend] = Roster(
            self._queue,
            self._run,
            prefix=f"batcher-{name}",
            build=build,
            threads_of=lambda backend: backend.concurrency,
            wake=partial(self._queue.nudge, WAKE),
            on_work=on_work,
        )
        self._roster.start(replicas)

    @property
    def replicas(self) -> int:
        return self._roster.replicas

    @property
    def target_replicas(self) -> int:
        return self._roster.replicas

    @property
    def workers(self) -> int:
        """Threads running forward passes: each replica's ``concurrency`` of them."""
        return self._roster.workers

    @property
    def _workers(self) -> int:
        return max(1, self._roster.workers)

    @property
    def queued_inputs(self) -> int:
        return self._queue.queued

    async def embed(
        self, texts: Sequence[str], direction: TruncationDirection = "right", allow_truncation: bool = True
    ) -> BatchOutput:
        costs = estimated_tokens(texts, self._max_input_length)
        job = Job(list(texts), direction, allow_truncation, costs)
        self.admission.admit(sum(costs))
        try:
            self._queue.put(job, len(job.texts))
        except InferhouseError:
            self.admission.done(sum(costs))
            raise
        # A caller that goes away stops counting as work ahead at once, not when a worker drops its job.
        job.future.add_done_callback(lambda done: self._ledger.release(job) if done.cancelled() else None)
        return await asyncio.wrap_future(job.future)

    async def call(self, work: Call[EmbeddingBackend, T]) -> T:
        """Run ``work`` on one replica's backend, between rounds (it counts as one queued input)."""
        item = PendingCall(work)
        self._queue.put(item)
        return await asyncio.wrap_future(item.future)

    def scale(self, n: int) -> None:
        self._roster.scale(n)

    def health(self) -> RuntimeHealth:
        return RuntimeHealth(self.replicas, self._queue.queued, self._roster.stopped)

    def stop(self) -> None:
        """Stop once every request queued so far is answered (the queue is first in, first out)."""
        self._roster.stop()

    def close(self) -> None:
        self.stop()

    def _run(self, replica: Replica[EmbeddingBackend]) -> None:
        # Callers answered by the last round tend to come straight back; waiting briefly for them keeps
        # rounds full instead of alternating between one big batch and a nearly empty one.
        expected = 1
        worked = False
        poll = STOP_POLL_S if replica.threads > 1 else None
        while True:
            ready = self._take_ready()
            if ready is not None:
                self._forward(ready, replica)
                continue
            if replica.stopping:
                return  # another thread of this replica took its stop mark
            try:
                first = self._queue.get(timeout=IDLE_TRIM_S if worked else poll)
            except queue.Empty:
                if worked:
                    trim_heap()
                worked = False
                continue
            worked = True
            if first is None:
                self._roster.took_stop(replica)
                return
            if isinstance(first, Wake):
                continue
            if isinstance(first, PendingCall):
                self._answer(first, replica)
                continue
            jobs, calls = [first], list[PendingCall[Any]]()
            stopping = self._collect(jobs, calls, expected)
            self._round(jobs, replica)
            for call in calls:
                self._answer(call, replica)
            expected = len(jobs)
            if stopping:
                while (ready := self._take_ready()) is not None:
                    self._forward(ready, replica)
                self._roster.took_stop(replica)
                return

    def _answer(self, call: PendingCall[Any], replica: Replica[EmbeddingBackend]) -> None:
        if not call.future.set_running_or_notify_cancel():
            self._queue.release()  # the caller went away before its turn
            return
        started = time.perf_counter()

        def answered() -> None:  # before the caller hears back, so a scrape after its reply sees it
            self._roster.report(replica, 1, 1, time.perf_counter() - started)
            self._queue.release()

        settle(call.future, call.work, replica.model, answered)

    def _collect(self, jobs: list[Job], calls: list[PendingCall[Any]], expected: int) -> bool:
        """Add waiting jobs to ``jobs`` (and calls to ``calls``, run after the round), for at most
        ``max_wait`` while fewer than ``expected`` are there, and only while the round holds less than
        admission's round budget.

        Returns True when the stop sentinel was seen.
        """
        deadline = time.monotonic() + self._max_wait
        # Bounded under an admission limit, so no request waits for much work admitted after it.
        budget = self.admission.round_tokens()
        floor = MIN_ROUND_INPUTS * self._workers
        taken, inputs = sum(jobs[0].costs), len(jobs[0].texts)
        while True:
            if budget is not None and taken >= budget and inputs >= floor:
                return False
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if len(jobs) >= expected or remaining <= 0:
                    return False
                try:
                    job = self._queue.get(timeout=remaining)
                except queue.Empty:
                    return False
            if job is None:
                return True
            if isinstance(job, PendingCall):
                calls.append(job)
            elif not isinstance(job, Wake):
                jobs.append(job)
                taken += sum(job.costs)
                inputs += len(job.texts)

    def _round(self, jobs: list[Job], replica: Replica[EmbeddingBackend]) -> None:
        """Tokenize and plan ``jobs``; run the first pass here and leave the rest to any idle worker."""
        began = time.perf_counter()
        backend = replica.model
        # A caller that went away before its turn was released when it cancelled.
        started = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        items: list[tuple[Job, int]] = []
        for job in started:
            if self._ledger.prepare(job, backend):
                items.extend((job, index) for index in range(len(job.texts)))
        batches: list[list[tuple[Job, int]]] = []
        if items:
            lengths = [len(job.tokenized[index].ids) for job, index in items]
            plan = plan_round(
                lengths,
                pass_budget(self._max_tokens, backend),
                self._max_size,
                backend.batch_overhead_tokens,
                packed_token_cost=backend.packed_token_cost,
                packed_row_tokens=backend.packed_row_tokens,
                workers=self._workers,
            )
            batches = [[items[i] for i in batch] for batch in plan]
        self._roster.report(replica, calls=len(started), busy_seconds=time.perf_counter() - began)
        if len(batches) > 1 and self._workers > 1:
            with self._ready_lock:
                self._ready.extend(batches[1:])
            for _ in range(min(len(batches) - 1, self._workers - 1)):
                self._queue.nudge(WAKE)
            batches = batches[:1]
        for batch in batches:
            self._forward(batch, replica)

    def _take_ready(self) -> list[tuple[Job, int]] | None:
        with self._ready_lock:
            return self._ready.popleft() if self._ready else None

    def _forward(self, planned: list[tuple[Job, int]], replica: Replica[EmbeddingBackend]) -> None:
        chosen = [(job, index) for job, index in planned if not job.future.done()]
        if not chosen:
            return
        began = time.perf_counter()
        backend = replica.model
        batch = [job.tokenized[index] for job, index in chosen]
        try:
            vectors = backend.forward(batch)
        except Exception as exc:
            log.exception("forward pass failed")
            self._roster.report(replica, busy_seconds=time.perf_counter() - began)
            for job in {job for job, _ in chosen}:
                self._ledger.fail(
                    job, BackendFailure(f"The model failed on this input: {type(exc).__name__}")
                )
            return
        # Reported before any caller hears back, so a scrape after a reply sees the pass that made it.
        self._roster.report(replica, inputs=len(chosen), busy_seconds=time.perf_counter() - began)
        self.admission.measure(sum(job.costs[index] for job, index in chosen))
        self._ledger.settle(chosen)
        for row, (job, index) in enumerate(chosen):
            if job.future.done() or job.vectors is None:
                continue
            job.vectors[index] = vectors[row]
            job.remaining -= 1
            if job.remaining == 0:
                self._ledger.finish(job)
        if self._on_batch is not None:
            lengths = [len(item.ids) for item in batch]
            packed = should_pack(lengths, backend.packed_token_cost, backend.packed_row_tokens)
            computed = sum(lengths) if packed else max(lengths) * len(batch)
            self._on_batch(BatchStats(len(batch), computed, self._queue.queued))


def start_batching(
    build: Callable[[], EmbeddingBackend],
    replicas: int,
    *,
    max_queued: int,
    name: str = "model",
    **options: Any,
) -> Batcher:
    """A :class:`Batcher` of ``replicas`` backends made by ``build`` (blocking: it loads them); ``options``
    are the batcher's other keywords (``max_batch_tokens``, ``max_wait_s``, ``on_batch``, ...)."""
    backends = [build() for _ in range(replicas)]
    return Batcher(backends, max_queued_inputs=max_queued, name=name, build=build, **options)
