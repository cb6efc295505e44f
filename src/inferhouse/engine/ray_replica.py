"""What runs inside a Ray Serve replica: :class:`ModelReplica`, its copy of the model, and the
:class:`Outcome` it answers with.

A replica builds its copy with the same ``build`` callable the in-process runtimes use (shipped to it by
value); embedding replicas hold a :class:`~inferhouse.engine.batcher.Batcher` of their own, so concurrent
requests routed to one replica share forward passes as they do in the API server's process. Errors keep
the runtime contract: the project's own errors cross the process boundary as they are, and any other
exception of a call becomes a :class:`BackendFailure` for that caller only. What the process logs while
the model loads is kept (:meth:`ModelReplica.load_log`) for the endpoint's logs.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import ray

from inferhouse.engine.backends.base import EmbeddingBackend, TruncationDirection
from inferhouse.engine.batcher import Batcher
from inferhouse.engine.generation.contract import GenerationParams
from inferhouse.engine.ray_hardware import CPU_PERCENT, CpuUsage
from inferhouse.errors import BackendFailure, InferhouseError

log = logging.getLogger(__name__)

LOAD_LOG_LINES = 200  # per replica, kept for the endpoint's logs


@dataclass(frozen=True)
class Outcome:
    """What a replica answers: the value, or the error to raise in the caller."""

    value: Any = None
    error: InferhouseError | None = None

    def unwrap(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.value


def _failure(error: BaseException) -> Outcome:
    if isinstance(error, InferhouseError):
        try:
            pickle.dumps(error)
        except Exception:  # an error carrying something that cannot cross: keep its kind's message
            return Outcome(error=BackendFailure(error.message))
        return Outcome(error=error)
    log.exception("a call failed", exc_info=error)
    reason = f"{type(error).__name__}: {error}"[:300]
    return Outcome(error=BackendFailure(f"The model failed on this input: {reason}"))


def _attempt(work: Callable[[Any], Any], model: Any) -> Outcome:
    try:
        return Outcome(work(model))
    except Exception as error:
        return _failure(error)


class _LoadLines(logging.Handler):
    """The last :data:`LOAD_LOG_LINES` records logged anywhere in a replica's process while it loads."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: deque[str] = deque(maxlen=LOAD_LOG_LINES)
        self._root = logging.getLogger()
        self._level = self._root.level

    def __enter__(self) -> _LoadLines:
        self._root.addHandler(self)
        if self._root.getEffectiveLevel() > logging.INFO:  # Ray workers log warnings only
            self._root.setLevel(logging.INFO)
        return self

    def __exit__(self, *_: object) -> None:
        self._root.removeHandler(self)
        self._root.setLevel(self._level)

    def add(self, line: str, level: str = "INFO") -> None:
        self.lines.append(f"{level} {line}")

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.add(f"{record.name}: {record.getMessage()}", record.levelname)
        except Exception:  # logging must never break the load
            self.handleError(record)


class ModelReplica:
    """One replica of the Serve deployment (runs in a Ray worker): a copy of the model, and for
    embedding models a batcher that merges the requests routed here into shared passes."""

    def __init__(self, build: Callable[[], Any], batching: dict[str, Any] | None, cpus: float = 1.0) -> None:
        self._cpu = CpuUsage(cpus)
        started = time.monotonic()
        with _LoadLines() as lines:
            self._model = build()
        node = ray.get_runtime_context().get_node_id()
        lines.add(f"replica ready on Ray node {node} in {time.monotonic() - started:.1f} s")
        self._load_log = list(lines.lines)
        self._batcher = Batcher([self._model], build=None, **batching) if batching is not None else None

    def record_autoscaling_stats(self) -> dict[str, float]:
        """What Serve's autoscaler reads of this replica (a hardwareUsage endpoint scales on it)."""
        return {CPU_PERCENT: self._cpu.sample()}

    def load_log(self) -> list[str]:
        """What was logged in this replica while its model loaded (the API server files it under
        the endpoint's logs, as it does for a model loaded in its own process)."""
        return self._load_log

    async def run(self, work: Callable[[Any], Any]) -> Outcome:
        if self._batcher is not None:
            try:
                return Outcome(await self._batcher.call(work))
            except Exception as error:
                return _failure(error)
        # Off the replica's event loop, so Serve keeps answering health checks during a long call.
        return await asyncio.to_thread(_attempt, work, self._model)

    async def embed(
        self, texts: list[str], direction: TruncationDirection, allow_truncation: bool
    ) -> Outcome:
        assert self._batcher is not None, "embed is only routed to embedding replicas"
        try:
            return Outcome(await self._batcher.embed(texts, direction, allow_truncation))
        except Exception as error:
            return _failure(error)

    async def generate(self, prompt: str, params: GenerationParams) -> Outcome:
        """A text generator's whole answer (the replica's model is a :class:`TextGenerator`)."""
        try:
            return Outcome(await self._model.generate(prompt, params))
        except Exception as error:
            return _failure(error)

    async def stream(self, prompt: str, params: GenerationParams) -> AsyncIterator[Any]:
        """First an :class:`Outcome` (accepted, or why not), then ``(token, result)`` pairs; ``result``
        comes with the last token, as the in-process stream sets it before yielding that token."""
        try:
            tokens = await self._model.stream(prompt, params)
        except Exception as error:
            yield _failure(error)
            return
        yield Outcome()
        try:
            async for token in tokens:
                yield token, tokens.result
        except Exception as error:  # leaving early (the caller cancelled) cancels the sequence
            yield _failure(error)

    def __del__(self) -> None:
        batcher = getattr(self, "_batcher", None)
        if batcher is not None:
            batcher.close()


@dataclass(frozen=True)
class _Facts:
    dimension: int
    max_input_length: int
    normalizes: bool
    prompts: dict[str, str]
    dtype: str
    loaded_as: str


def facts_of(backend: EmbeddingBackend) -> _Facts:
    return _Facts(
        backend.dimension,
        backend.max_input_length,
        backend.normalizes,
        dict(backend.prompts),
        backend.dtype,
        backend.loaded_as,
    )
