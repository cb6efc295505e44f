"""Admission by estimated wait: a request is queued only while it would be done within a time limit, so
under overload the excess is refused at once instead of every caller waiting longer.

Work is counted in estimated tokens (about four characters each, at most the model's input length,
since longer inputs are truncated). How fast a model gets through it is measured as it drains its
queue: the tokens of recent passes over the wall-clock time between their completions while work was
waiting (each older pass counting a little less). That time holds everything a request waits for once
admitted -- tokenizing, collecting a round, the passes, however many workers run them and whatever else
shares the cores -- where timing the passes alone overestimated the rate by up to half under load (the
worker threads and the event loop share the CPU). Until the first pass is measured there is no estimate,
and everything is admitted (the queue's input bound still holds).

A request is admitted while the work ahead of it plus its own would be done within the limit. Its wait
also depends on what shares its round: a worker takes queued requests in order, but sorts a round's
inputs by length, so a request may wait for work admitted after it within the same round. Rounds are
therefore bounded to a small share of the limit (:meth:`Admission.round_tokens`), which bounds that
reordering to the same share; measured under overload, unbounded rounds held up to a whole limit's
worth of work and put accepted requests' p99 at about twice the limit.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence

from inferhouse.errors import Overloaded

# Characters per token of English text: a rough figure, but the same one counts the work queued and the
# work measured, so only its variation across texts enters the estimate.
_CHARS_PER_TOKEN = 4
# The special tokens around every input ([CLS], [SEP]).
_SPECIAL_TOKENS = 2
# How much each older pass counts relative to the next: about the last 50-100 passes shape the rate.
_DECAY = 0.98
# The share of the limit one round may hold: the most a request can wait for work admitted after it.
ROUND_SHARE = 0.125


def estimated_tokens(texts: Sequence[str], max_input_length: int) -> list[int]:
    """Each text's cost in estimated tokens, before it is tokenized."""
    cap = max(1, max_input_length)
    return [min(cap, _SPECIAL_TOKENS + len(text) // _CHARS_PER_TOKEN) for text in texts]


class Admission:
    """Tracks one model's queued work and throughput; refuses work that would not be done within
    ``max_wait_s``.

    ``max_wait_s`` of 0 (or infinity) admits everything. Worker threads report passes
    (:meth:`measure`) and finished work (:meth:`done`) while the event loop admits: a lock keeps the
    sums consistent.
    """

    def __init__(self, max_wait_s: float, clock: Callable[[], float] = time.perf_counter) -> None:
        self.max_wait_s = max_wait_s
        self._clock = clock
        self._pending = 0
        self._work = 0.0  # decayed sums over recent passes: tokens, and wall-clock seconds
        self._elapsed = 0.0
        self._since = 0.0  # the last completion, or when work arrived at an idle model
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
        """Estimated tokens per second the model gets through while work waits; None unmeasured."""
        with self._lock:
            return self._rate()

    def estimated_wait(self) -> float:
        """Seconds until the work admitted so far is computed; 0 while unmeasured."""
        with self._lock:
            rate = self._rate()
            return self._pending / rate if rate else 0.0

    def round_tokens(self) -> float | None:
        """Estimated tokens one round may take from the queue; None: no bound (no limit, or unmeasured)."""
        with self._lock:
            rate = self._rate()
            if not self.enabled or not rate:
                return None
            return rate * self.max_wait_s * ROUND_SHARE

    def admit(self, cost: int) -> None:
        """Count ``cost`` as queued, or raise :class:`Overloaded` (with a retry delay) when the work
        already ahead plus ``cost`` would take longer than the limit. Nothing ahead: always admitted,
        so a request larger than the limit alone is slow but never refused forever."""
        with self._lock:
            rate = self._rate()
            if self.enabled and rate and self._pending:
                wait = (self._pending + cost) / rate
                if wait > self.max_wait_s:
                    raise Overloaded(
                        f"Model is overloaded: this request would be done in about {wait:.1f} s, over "
                        f"the limit of {self.max_wait_s:g} s; retry later",
                        retry_after=max(1, math.ceil(wait - self.max_wait_s)),
                    )
            if not self._pending:
                self._since = self._clock()  # an idle spell is no part of the rate
            self._pending += cost

    def done(self, cost: int) -> None:
        """``cost`` of admitted work was computed, failed or abandoned."""
        with self._lock:
            self._pending -= cost

    def measure(self, cost: int) -> None:
        """A pass over ``cost`` estimated tokens of admitted work just completed."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._since
            self._since = now
            if cost > 0:  # passes completing together: the first one carries the time
                self._work = self._work * _DECAY + cost
                self._elapsed = self._elapsed * _DECAY + max(0.0, elapsed)

    def _rate(self) -> float | None:
        if not self._elapsed:
            return None
        return self._work / self._elapsed
