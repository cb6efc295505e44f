"""The model the runtime contract cases run on: numbered copies of a tiny embedding backend (so runtimes
that batch can run it too) with hooks to hold a call, meet other replicas, or fail.

The hooks use ``threading`` primitives; a runtime whose replicas run in other processes can hand the
copies ``multiprocessing.Manager()`` ones instead (same ``Event``/``Barrier``/``Semaphore`` API).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import TokenizedText

# Every wait in the contract cases is bounded by this; none is expected to come close on a busy machine.
TIMEOUT_S = 20.0


class ContractModel:
    """Copy ``number`` of the model. Its vectors are ``[inputs in the pass, number]``, so a caller can see
    how many requests shared its forward pass."""

    dimension = 2
    max_input_length = 64
    normalizes = False
    prompts: Mapping[str, str] = {}
    dtype = "float32"
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
        """Signal ``copies.entered``, then wait for ``copies.gate``."""
        self._copies.entered.release()
        assert self._copies.gate.wait(TIMEOUT_S), "the test never opened the gate"
        return self.number

    def meet(self, barrier: threading.Barrier) -> int:
        """Return once ``barrier.parties`` calls are running at once (so on as many replicas)."""
        barrier.wait(TIMEOUT_S)
        if self.number in self._copies.broken:
            raise RuntimeError(f"copy {self.number} is broken")
        return self.number


class Copies:
    """The build callable: each call makes the next numbered copy. Copies share one gate (open unless a
    test closes it) and count the calls they hold in ``entered``; copies numbered in ``broken`` raise."""

    def __init__(self, broken: frozenset[int] = frozenset()) -> None:
        self.made = 0
        self.broken = broken
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Semaphore(0)
        self._lock = threading.Lock()

    def __call__(self) -> ContractModel:
        with self._lock:
            self.made += 1
            return ContractModel(self.made - 1, self)

    def wait_entered(self, calls: int) -> None:
        """Block until ``calls`` more calls are held (each on its replica)."""
        for _ in range(calls):
            assert self.entered.acquire(timeout=TIMEOUT_S), "the calls never reached a replica"
