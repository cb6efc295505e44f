"""What the batcher's queue holds (embedding jobs, calls, wake marks), what a job answers, and the ledger
that answers each job once and gives back what it held: room in the queue and admitted tokens."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np
import numpy.typing as npt

from inferhouse.engine.admission import Admission
from inferhouse.engine.backends.base import EmbeddingBackend, TokenizedText, TruncationDirection
from inferhouse.engine.runtime import Call
from inferhouse.engine.work_queue import WorkQueue
from inferhouse.errors import BackendFailure, InferhouseError, InputTooLong

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BatchOutput:
    vectors: npt.NDArray[np.float32]
    tokens: list[int]
    truncated: list[bool]


@dataclass(frozen=True, slots=True)
class BatchStats:
    """Reported after every forward pass, for metrics."""

    size: int
    computed_tokens: int
    queued_inputs: int


class Wake:
    """Queued to wake an idle worker when a round left passes for others to run."""


WAKE = Wake()


@dataclass(eq=False)
class Job:
    """One embedding request: its texts, and its inputs' state as rounds compute them."""

    texts: list[str]
    direction: TruncationDirection
    allow_truncation: bool
    costs: list[int]  # each input's estimated tokens until it is computed, then 0 (see Admission)
    future: Future[BatchOutput] = field(default_factory=Future)
    tokenized: list[TokenizedText] = field(default_factory=list)
    vectors: npt.NDArray[np.float32] | None = None
    remaining: int = 0


@dataclass(eq=False)
class PendingCall(Generic[T]):
    """A function to run on one replica's backend, outside any round (``Batcher.call``)."""

    work: Call[EmbeddingBackend, T]
    future: Future[T] = field(default_factory=Future)


QueueItem = Job | PendingCall[Any] | Wake


class Ledger:
    """Answers jobs and takes what they held off the queue's bound and admission's account, each input
    exactly once, whichever worker computes, fails or drops it."""

    def __init__(self, queue: WorkQueue[QueueItem], admission: Admission) -> None:
        self._queue = queue
        self._admission = admission
        # Guards jobs' ``costs`` between a worker settling a pass and another failing the same job.
        self._costs_lock = threading.Lock()

    def prepare(self, job: Job, backend: EmbeddingBackend) -> bool:
        """Tokenize a started job; False (the job answered with its error) when that fails or an input
        is too long and truncation was refused."""
        try:
            job.tokenized = backend.tokenize(job.texts, job.direction)
        except Exception as exc:  # a tokenizer bug must fail the request, not the worker thread
            log.exception("tokenization failed")
            self.fail(job, BackendFailure(f"Tokenization failed: {type(exc).__name__}"))
            return False
        if not job.allow_truncation:
            for index, item in enumerate(job.tokenized):
                if item.truncated:
                    self.fail(
                        job,
                        InputTooLong(
                            f"Input {index} is longer than the model's maximum of "
                            f"{backend.max_input_length} tokens and truncate is false"
                        ),
                    )
                    return False
        job.vectors = np.empty((len(job.texts), backend.dimension), dtype=np.float32)
        job.remaining = len(job.texts)
        return True

    def finish(self, job: Job) -> None:
        assert job.vectors is not None
        self.release(job)
        job.future.set_result(
            BatchOutput(
                job.vectors,
                [len(item.ids) for item in job.tokenized],
                [item.truncated for item in job.tokenized],
            )
        )

    def fail(self, job: Job, error: InferhouseError) -> None:
        self.release(job)
        job.future.set_exception(error)

    def release(self, job: Job) -> None:
        self.settle([(job, index) for index in range(len(job.texts))])
        self._queue.release(len(job.texts))

    def settle(self, inputs: Sequence[tuple[Job, int]]) -> None:
        """Take ``inputs`` (computed, failed or abandoned) off the admitted work, each only once."""
        settled = 0
        with self._costs_lock:
            for job, index in inputs:
                settled += job.costs[index]
                job.costs[index] = 0
        self._admission.done(settled)
