"""Admission by estimated wait: a request is queued only while the work ahead of it would be done within
a time limit, so under overload the excess is refused at once instead of every caller waiting longer.

The work ahead is counted in estimated tokens (about four characters each, at most the model's input
length, since longer inputs are truncated). How fast a model gets through it is measured on its own
forward passes: the tokens of recent passes over the time they took, each older pass counting a little
less, times the number of workers running passes at once. Until the first pass is measured there is no
estimate, and everything is admitted (the queue's input bound still holds).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence

from inferhouse.errors import Overloaded

# Characters per token of English text: a rough figure, but the same one counts the work queued and the
# work measured, so only its variation across texts enters the estimate.
_CHARS_PER_TOKEN = 4
# The special tokens around every input ([CLS], [SEP]).
_SPECIAL_TOKENS = 2
# How much each older pass counts relative to the next: about the last 10-20 passes shape the rate.
_DECAY = 0.9


def estimated_tokens(texts: Sequence[str], max_input_length: int) -> list[int]:
    """Each text's cost in estimated tokens, before it is tokenized."""
    cap = max(1, max_input_length)
    return [min(cap, _SPECIAL_TOKENS + len(text) // _CHARS_PER_TOKEN) for text in texts]


class Admission:
    """Tracks one model's queued work and throughput; refuses work whose wait would pass ``max_wait_s``.

    ``max_wait_s`` of 0 (or infinity) admits everything. Worker threads report passes
    (:meth:`measure`) and finished work (:meth:`done`) while the event loop admits: a lock keeps the
    sums consistent.
    """

    def __init__(self, max_wait_s: float, workers: int = 1) -> None:
        self.max_wait_s = max_wait_s
        self._workers = max(1, workers)
        self._pending = 0
        self._work = 0.0  # decayed sums over recent passes: tokens, and worker-seconds
        self._busy = 0.0
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return 0 < self.max_wait_s < math.inf

    @property
    def pending(self) -> int:
        """Estimated tokens admitted and not yet computed."""
        return self._pending

    @property
    def rate(self) -> float | None:
        """Estimated tokens per second the model gets through with every worker busy; None unmeasured."""
        with self._lock:
            return self._rate()

    def estimated_wait(self) -> float:
        """Seconds until the work admitted so far is computed; 0 while unmeasured."""
        with self._lock:
            rate = self._rate()
            return self._pending / rate if rate else 0.0

    def admit(self, cost: int) -> None:
        """Count ``cost`` as queued, or raise :class:`Overloaded` (with a retry delay) when the work
        already ahead would take longer than the limit. Nothing ahead: always admitted, so a request
        larger than the limit alone is slow but never refused forever."""
        with self._lock:
            rate = self._rate()
            if self.enabled and rate and self._pending:
                wait = self._pending / rate
                if wait > self.max_wait_s:
                    raise Overloaded(
                        f"Model is overloaded: about {wait:.1f} s of work is queued, over the limit of "
                        f"{self.max_wait_s:g} s; retry later",
                        retry_after=max(1, math.ceil(wait - self.max_wait_s)),
                    )
            self._pending += cost

    def done(self, cost: int) -> None:
        """``cost`` of admitted work was computed, failed or abandoned."""
        with self._lock:
            self._pending -= cost

    def measure(self, cost: int, seconds: float) -> None:
        """One worker computed ``cost`` estimated tokens in ``seconds``."""
        if cost <= 0 or seconds <= 0:
            return
        with self._lock:
            self._work = self._work * _DECAY + cost
            self._busy = self._busy * _DECAY + seconds

    def _rate(self) -> float | None:
        if not self._busy:
            return None
        return self._work / self._busy * self._workers
