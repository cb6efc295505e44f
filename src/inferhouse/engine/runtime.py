"""The seam between a deployment and where its replicas run.

A :class:`Runtime` holds ``replicas`` copies of one model and runs calls on them: a call is a function
given one copy (``work(model)``), run on whichever replica is free. Two implementations live in this
process: :func:`inferhouse.engine.replicas.start_threads` (one thread per copy, one call at a time) and
:func:`inferhouse.engine.batcher.start_batching` (embedding models, whose concurrent requests are merged
into shared forward passes; ``batches`` is True and ``embed`` does the merging). Another runtime (in other
processes or machines) implements the same Protocol and runs the same contract cases
(``tests/contract/test_runtime.py``).

Every implementation answers with the same errors: :class:`~inferhouse.errors.Overloaded` when its queue
is full, :class:`~inferhouse.errors.Unavailable` once stopped (or while scaled to zero), the
:class:`~inferhouse.errors.InferhouseError` a call raised, and
:class:`~inferhouse.errors.BackendFailure` for any other exception of a call, to that caller only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from inferhouse.engine.backends.base import EmbeddingBackend, TruncationDirection

if TYPE_CHECKING:
    from inferhouse.engine.batcher import BatchOutput

M = TypeVar("M")
M_co = TypeVar("M_co", covariant=True)
R = TypeVar("R")

# A call: what to run on one replica's copy of the model, and what it returns.
Call = Callable[[M], R]


@dataclass(frozen=True, slots=True)
class RuntimeHealth:
    replicas: int  # copies serving (after a scale, the number asked for)
    queued: int  # work accepted and not yet answered, waiting or running
    stopped: bool


class Runtime(Protocol[M_co]):
    """Copies of a model (of type ``M_co``) serving one queue; whichever is free takes the next call."""

    # True where concurrent requests are merged into shared passes (the runtime then also has ``embed``).
    batches: bool
    # True where the runtime moves its replicas between bounds itself (Ray Serve's autoscaling): the
    # server's autoscaler then only reports it.
    scales_itself: bool

    @property
    def replicas(self) -> int: ...

    @property
    def target_replicas(self) -> int:
        """Where the count is headed: ``replicas`` for a runtime the server scales (its autoscaler
        knows the target), the count being started for one that scales itself."""
        ...

    async def call(self, work: Call[M_co, R]) -> R:
        """Run ``work`` on one replica's model and return what it returns."""
        ...

    def scale(self, n: int) -> None:
        """Run ``n`` replicas: grow by building copies, shrink by stopping replicas once the work taken
        before has been answered. Blocking (it loads models): call it off the event loop. With ``n`` of
        0, calls are refused (503) until it grows again."""
        ...

    def health(self) -> RuntimeHealth: ...

    def stop(self) -> None:
        """Answer the work accepted so far, then stop; later calls are refused (503). Blocking."""
        ...


class BatchingRuntime(Runtime[EmbeddingBackend], Protocol):
    """A runtime of embedding models that merges concurrent requests into shared forward passes."""

    @property
    def queued_inputs(self) -> int:
        """Inputs accepted and not yet answered."""
        ...

    async def embed(
        self, texts: Sequence[str], direction: TruncationDirection = "right", allow_truncation: bool = True
    ) -> BatchOutput: ...

    def close(self) -> None: ...


class RuntimeStarter(Protocol[M]):
    """Starts a runtime of ``replicas`` copies made by ``build`` (blocking; it loads models). ``build``
    makes the copies a later :meth:`Runtime.scale` adds; ``max_queued`` bounds the work waiting (429
    past it)."""

    def __call__(
        self, build: Callable[[], M], replicas: int, *, max_queued: int, name: str = "model"
    ) -> Runtime[M]: ...
