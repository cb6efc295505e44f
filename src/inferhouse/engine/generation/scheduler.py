"""Continuous batching: one thread owns the model and decodes every running sequence step by step.

Each turn of the loop admits waiting requests (prefilling them into the running batch), runs one
decode step for all running sequences, chooses each row's token, hands the tokens to the asyncio side
through the request's sink, and drops rows that finished or were cancelled. A failure fails only the
requests it touched; the loop carries on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from inferhouse.engine.generation.contract import (
    FinishReason,
    GeneratedToken,
    GenerationLimits,
    GenerationResult,
)
from inferhouse.engine.generation.detokenize import IncrementalText, StopMatcher
from inferhouse.engine.generation.params import Plan
from inferhouse.engine.generation.sampling import Chooser, choose_plain_greedy, choose_row
from inferhouse.errors import BackendFailure, InferhouseError, OutOfMemory, Overloaded, Unavailable

log = logging.getLogger(__name__)


class Rows(Protocol):
    """The model side of a running batch (:class:`CausalRows`, :class:`Seq2SeqRows`)."""

    def __len__(self) -> int: ...
    def prefill(self, prompt_ids: Sequence[int]) -> torch.Tensor: ...
    def step(self, next_ids: Sequence[int]) -> torch.Tensor: ...
    def keep(self, rows: Sequence[int]) -> None: ...


@dataclass(frozen=True)
class Finished:
    """The last token of a sequence together with its result (so a stream can mark the last event)."""

    token: GeneratedToken
    result: GenerationResult


class Ended:
    """The sequence left without a result (it was cancelled)."""


ENDED = Ended()

Sink = Callable[[GeneratedToken | Finished | Ended | InferhouseError], None]


@dataclass(eq=False)
class Job:
    """One request as the loop sees it; ``cancelled`` may be set from any thread."""

    plan: Plan
    sink: Sink
    cancelled: bool = False
    # False when the caller waits for the whole text: tokens then reach it with the result only,
    # instead of waking its event loop once per token.
    streamed: bool = True


@dataclass(eq=False)
class _Running:
    job: Job
    chooser: Chooser
    text: IncrementalText
    stops: StopMatcher
    seen: list[int]
    tokens: list[GeneratedToken] = field(default_factory=list)
    pending: int = -1  # chosen but not yet fed to the model


@dataclass(frozen=True)
class Vocabulary:
    tokenizer: Any
    eos_ids: frozenset[int]
    special_ids: frozenset[int]


class BatchLoop:
    def __init__(
        self,
        rows: Rows,
        vocabulary: Vocabulary,
        limits: GenerationLimits,
        *,
        max_batch_size: int,
        name: str,
    ) -> None:
        self._rows: Rows | None = rows
        self._vocabulary = vocabulary
        self._limits = limits
        self._max_batch_size = max_batch_size
        self._cond = threading.Condition()
        self._waiting: deque[Job] = deque()
        self._running: list[_Running] = []
        self._in_flight = 0
        self._closing = False
        self._deadline = 0.0
        self.steps = 0  # decode steps run; tests and metrics read it
        self._thread = threading.Thread(target=self._run, name=f"generate-{name}", daemon=True)
        self._thread.start()

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def running(self) -> int:
        return len(self._running)

    def submit(self, job: Job) -> None:
        with self._cond:
            if self._closing:
                raise Unavailable("This model is shutting down and takes no new requests")
            limit = self._limits.max_concurrent_requests
            if self._in_flight >= limit:
                raise Overloaded(
                    f"Model is overloaded: {self._in_flight} requests are in flight, the most this endpoint "
                    f"takes (MAX_CONCURRENT_REQUESTS={limit}); retry later"
                )
            self._in_flight += 1
            self._waiting.append(job)
            self._cond.notify()

    def close(self, grace_s: float) -> None:
        """Take no more requests; running ones get ``grace_s`` to finish, then fail. Waits for the thread."""
        with self._cond:
            if not self._closing:
                self._closing = True
                self._deadline = time.monotonic() + grace_s
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    # -- the model thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            with torch.inference_mode():
                while self._turn():
                    pass
        except BaseException:  # a bug in the loop itself: fail everyone rather than hang them
            log.exception("The generation loop stopped")
            raise
        finally:
            self._fail_all(Unavailable("This model stopped before the generation finished"))
            self._rows = None

    def _turn(self) -> bool:
        with self._cond:
            while not self._waiting and not self._running and not self._closing:
                self._cond.wait()
            if self._closing:
                while self._waiting:
                    self._end(self._waiting.popleft(), Unavailable("This model is shutting down"))
                if not self._running or time.monotonic() >= self._deadline:
                    return False
            free = self._max_batch_size - len(self._running)
            admitted = [self._waiting.popleft() for _ in range(min(free, len(self._waiting)))]
        rows = self._rows
        assert rows is not None
        self._drop_cancelled(rows)
        logits: list[torch.Tensor] = []
        if self._running:
            try:
                logits.append(rows.step([state.pending for state in self._running]))
                self.steps += 1
            except Exception as error:
                self._fail_running(rows, error, "decode step")
        for job in admitted:
            self._admit(rows, job, logits)
        if self._running:
            self._choose(rows, torch.cat(logits) if len(logits) > 1 else logits[0])
        return True

    def _admit(self, rows: Rows, job: Job, logits: list[torch.Tensor]) -> None:
        if job.cancelled:
            self._end(job, ENDED)
            return
        before = len(rows)
        try:
            row_logits = rows.prefill(job.plan.prompt_ids)
        except Exception as error:
            log.exception("Prefill failed for a %d-token prompt", len(job.plan.prompt_ids))
            self._end(job, _backend_error(error))
            if len(rows) != before:  # the batch is in an unknown state: start it afresh
                self._fail_running(rows, error, "prefill")
                logits.clear()
            return
        vocabulary = self._vocabulary
        self._running.append(
            _Running(
                job=job,
                chooser=Chooser.for_plan(job.plan),
                text=IncrementalText(vocabulary.tokenizer, job.plan.prompt_ids, vocabulary.special_ids),
                stops=StopMatcher(job.plan.stop),
                seen=list(job.plan.prompt_ids),
            )
        )
        logits.append(row_logits[None, :])

    def _choose(self, rows: Rows, logits: torch.Tensor) -> None:
        choices: dict[int, tuple[int, float]] = {}
        greedy = [i for i, state in enumerate(self._running) if state.chooser.plain_greedy]
        if greedy:
            tokens, logprobs = choose_plain_greedy(logits[greedy] if len(greedy) < len(logits) else logits)
            choices.update(zip(greedy, zip(tokens, logprobs, strict=True), strict=True))
        keep: list[int] = []
        for index, state in enumerate(self._running):
            try:
                if index not in choices:
                    choices[index] = choose_row(logits[index], state.chooser, state.seen)
                if not self._advance(state, *choices[index]):
                    keep.append(index)
            except Exception as error:
                log.exception("Choosing the next token failed")
                self._end(state.job, _backend_error(error))
        self._keep(rows, keep)

    def _advance(self, state: _Running, token: int, logprob: float) -> bool:
        """Record ``token`` and hand it out; True when the sequence is finished."""
        vocabulary = self._vocabulary
        plan = state.job.plan
        state.seen.append(token)
        reason: FinishReason | None = None
        # TGI's order: the length limit first, then the end-of-sequence token, then stop sequences.
        if len(state.tokens) + 1 >= plan.max_new_tokens:
            reason = "length"
        elif token in vocabulary.eos_ids:
            reason = "eos_token"
        delta = state.text.add(token, final=reason is not None)
        if reason is None and state.stops.feed(delta):
            reason = "stop_sequence"
        generated = GeneratedToken(
            id=token, text=delta, logprob=logprob, special=token in vocabulary.special_ids
        )
        state.tokens.append(generated)
        state.pending = token
        if reason is None:
            if state.job.streamed:
                state.job.sink(generated)
            return False
        result = GenerationResult(
            text="".join(item.text for item in state.tokens),
            finish_reason=reason,
            generated_tokens=len(state.tokens),
            prompt_tokens=len(plan.prompt_ids),
            seed=plan.seed,
            tokens=tuple(state.tokens),
        )
        self._end(state.job, Finished(generated, result))
        return True

    def _drop_cancelled(self, rows: Rows) -> None:
        keep = [i for i, state in enumerate(self._running) if not state.job.cancelled]
        if len(keep) == len(self._running):
            return
        for state in self._running:
            if state.job.cancelled:
                self._end(state.job, ENDED)
        self._keep(rows, keep)

    def _keep(self, rows: Rows, keep: list[int]) -> None:
        if len(keep) != len(self._running):
            self._running = [self._running[i] for i in keep]
            rows.keep(keep)

    def _fail_running(self, rows: Rows, error: Exception, stage: str) -> None:
        log.error("Generation %s failed for %d sequences", stage, len(self._running), exc_info=error)
        for state in self._running:
            self._end(state.job, _backend_error(error))
        self._running = []
        rows.keep([])

    def _fail_all(self, error: InferhouseError) -> None:
        with self._cond:
            waiting = list(self._waiting)
            self._waiting.clear()
            self._closing = True
        for job in waiting:
            self._end(job, type(error)(error.message))
        for state in self._running:
            self._end(state.job, type(error)(error.message))
        self._running = []

    def _end(self, job: Job, outcome: Finished | Ended | InferhouseError) -> None:
        with self._cond:
            self._in_flight -= 1
        job.sink(outcome)


def _backend_error(error: Exception) -> BackendFailure:
    if isinstance(error, torch.OutOfMemoryError):
        return OutOfMemory("The model ran out of memory while generating; retry with a shorter request")
    return BackendFailure(f"Generation failed: {type(error).__name__}: {error}")
