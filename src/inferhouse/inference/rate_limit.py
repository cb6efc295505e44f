"""Outbound rate limits for remote inference services.

Every configuration that sends text to the same URL with the same API key shares one limit, because
the upstream counts requests per key and endpoint, not per configuration. The limit has no burst:
requests start at least ``60 / requests_per_minute`` seconds apart, which is Elasticsearch's token
bucket with room for a single token. Callers queue up (they ``await``) instead of failing.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import threading
import time
from collections.abc import Awaitable, Callable

DEFAULT_REQUESTS_PER_MINUTE = 3000.0
"""What Elasticsearch's ``hugging_face`` service allows when ``rate_limit`` is not set."""

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


def _checked_rate(requests_per_minute: float) -> float:
    rate = float(requests_per_minute)
    if not math.isfinite(rate) or rate <= 0:
        raise ValueError(f"requests_per_minute must be a positive number, got {requests_per_minute!r}")
    return rate


class RateLimiter:
    """One bucket: hands out start times spaced ``60 / requests_per_minute`` seconds apart.

    Each :meth:`acquire` reserves the next free start time and sleeps until it comes, so the waiters
    are served in the order they arrived. A bucket that has been idle lets the next request through at
    once, but never more than one: at most ``requests_per_minute`` requests start in any minute.

    A caller cancelled while it waits still uses up its reserved slot; that errs on the side of sending
    less, never more. ``clock`` and ``sleep`` can be swapped for fakes in tests.
    """

    def __init__(
        self,
        requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._rate = _checked_rate(requests_per_minute)
        self._clock = clock
        self._sleep = sleep
        self._next_start = -math.inf
        # Reservations are pure arithmetic, but a limiter may be shared by event loops in different threads.
        self._lock = threading.Lock()

    @property
    def requests_per_minute(self) -> float:
        return self._rate

    @requests_per_minute.setter
    def requests_per_minute(self, value: float) -> None:
        # Slots already handed out keep their times; the new spacing applies from the next reservation.
        self._rate = _checked_rate(value)

    @property
    def interval(self) -> float:
        """Seconds between two request starts."""
        return 60.0 / self._rate

    def reserve(self) -> float:
        """Take the next start slot without waiting; returns how many seconds until it comes."""
        with self._lock:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + self.interval
            return start - now

    async def acquire(self) -> None:
        """Wait until this caller may start one request."""
        wait = self.reserve()
        if wait > 0:
            await self._sleep(wait)

    def __repr__(self) -> str:
        return f"RateLimiter(requests_per_minute={self._rate:g})"


class RateLimiters:
    """The shared registry: one :class:`RateLimiter` per (url, api_key) pair.

    The key holds a SHA-256 digest of the API key, never the key itself. When configurations sharing a
    pair ask for different rates, the bucket runs at the lowest: no configuration's limit is ever
    exceeded, and the rate does not depend on the order in which runners happen to be built (after a
    restart they are built on first use). Elasticsearch keeps the rate of whichever configuration
    created the group first, which a restart would make arbitrary here.
    """

    def __init__(self, clock: Clock = time.monotonic, sleep: Sleep = asyncio.sleep) -> None:
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(url: str, api_key: str) -> tuple[str, str]:
        return (url, hashlib.sha256(api_key.encode("utf-8")).hexdigest())

    def for_key(
        self, url: str, api_key: str, requests_per_minute: float = DEFAULT_REQUESTS_PER_MINUTE
    ) -> RateLimiter:
        """The bucket shared by every configuration that calls ``url`` with ``api_key``, at the lowest rate
        any of them asked for."""
        rate = _checked_rate(requests_per_minute)
        key = self._key(url, api_key)
        with self._lock:
            limiter = self._limiters.get(key)
            if limiter is None:
                limiter = RateLimiter(rate, clock=self._clock, sleep=self._sleep)
                self._limiters[key] = limiter
            elif rate < limiter.requests_per_minute:
                limiter.requests_per_minute = rate
            return limiter

    def __len__(self) -> int:
        return len(self._limiters)

    def __repr__(self) -> str:
        return f"RateLimiters({len(self._limiters)} buckets)"
