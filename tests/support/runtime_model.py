"""The model the runtime contract cases run on: numbered copies of a tiny embedding backend (so runtimes
that batch can run it too) with hooks to hold a call, meet other replicas, or fail.

The hooks go through a :class:`Sync`: threading primitives for runtimes in this process
(:class:`ThreadSync`), and a Ray actor for replicas in other processes (``tests/support/ray_sync.py``),
so the same cases count copies, hold calls and meet across processes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import TokenizedText

# Every wait in the contract cases is bounded by this; none is expected to come close on a busy machine.
TIMEOUT_S = 20.0


class Meeting(Protocol):
    def wait(self, timeout: float) -> object: ...


class Sync(Protocol):
    """What copies share, wherever they run."""

    def next_number(self) -> int: ...
    def made(self) -> int: ...
    def open_gate(self) -> None: ...
    def close_gate(self) -> None: ...
    def wait_gate(self, timeout: float) -> bool: ...
    def enter(self) -> None: ...
    def wait_entered(self, calls: int, timeout: float) -> bool: ...
    def meeting(self, parties: int) -> Meeting: ...


class ThreadSync:
    def __init__(self) -> None:
        self._made = 0
        self._lock = threading.Lock()
        self._gate = threading.Event()
        self._gate.set()
        self._entered = threading.Semaphore(0)

    def next_number(self) -> int:
        with self._lock:
            self._made += 1
            return self._made - 1

    def made(self) -> int:
        return self._made

    def open_gate(self) -> None:
        self._gate.set()

    def close_gate(self) -> None:
        self._gate.clear()

    def wait_gate(self, timeout: float) -> bool:
        return self._gate.wait(timeout)

    def enter(self) -> None:
        self._entered.release()

    def wait_entered(self, calls: int, timeout: float) -> bool:
        return all(self._entered.acquire(timeout=timeout) for _ in range(calls))

    def meeting(self, parties: int) -> Meeting:
        return threading.Barrier(parties)


class ContractModel:
    """Copy ``number`` of the model. Its vectors are ``[inputs in the pass, number]``, so a caller can see
    how many requests shared its forward pass."""

    dimension = 2
    max_input_length = 64
    normalizes = False
    prompts: Mapping[str, str] = {}
    dtype = "float32"
    loaded_as = "torch: a contract model"
    batch_overhead_tokens = 64  # a pass has a fixed cost, so the planner merges inputs
    packed_token_cost = 0.0
    packed_row_tokens = 0
    concurrency = 1
    max_pass_tokens = 0

    def __init__(self, number: int, copies: Copies) -> None:
        self.number = number
        self._copies = copies

    def tokenize(self, texts: Sequence[str], direction: str) -> list[TokenizedText]:
        return [
            TokenizedText([1] * (2 + len(text.split())), [0] * (2 + len(text.split())), False)
            for text in texts
        ]

    def forward(self, batch: Sequence[TokenizedText]) -> npt.NDArray[np.float32]:
        self.hold()
        return np.array([[len(batch), self.number]] * len(batch), dtype=np.float32)

    def hold(self) -> int:
        """Count this call as entered, then wait for the gate."""
        self._copies.sync.enter()
        assert self._copies.sync.wait_gate(TIMEOUT_S), "the test never opened the gate"
        return self.number

    def meet(self, meeting: Meeting) -> int:
        """Return once ``parties`` calls are running at once (so on as many replicas)."""
        meeting.wait(TIMEOUT_S)
        if self.number in self._copies.broken:
            raise RuntimeError(f"copy {self.number} is broken")
        return self.number


class Copies:
    """The build callable: each call makes the next numbered copy. Copies share one gate (open unless a
    test closes it) and count the calls they hold; copies numbered in ``broken`` raise."""

    def __init__(self, sync: Sync | None = None) -> None:
        self.sync: Sync = sync if sync is not None else ThreadSync()
        self.broken: frozenset[int] = frozenset()

    def __call__(self) -> ContractModel:
        return ContractModel(self.sync.next_number(), self)

    @property
    def made(self) -> int:
        return self.sync.made()

    def open_gate(self) -> None:
        self.sync.open_gate()

    def close_gate(self) -> None:
        self.sync.close_gate()

    def wait_entered(self, calls: int) -> None:
        """Block until ``calls`` more calls are held (each on its replica)."""
        assert self.sync.wait_entered(calls, TIMEOUT_S), "the calls never reached a replica"

    def meeting(self, parties: int) -> Callable[[ContractModel], int]:
        """A call that returns once ``parties`` such calls run at once (so on as many replicas)."""
        meeting = self.sync.meeting(parties)
        return lambda model: model.meet(meeting)
