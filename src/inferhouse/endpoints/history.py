"""Each endpoint's requests over the last hour, kept in memory for the dashboard's charts.

Requests fall into 10-second buckets; a bucket counts requests and errors and keeps latencies as counts
in logarithmic bins (each 20 % wider than the last), so p50 and p99 come out within a bin's width
whatever the traffic, and an endpoint holds at most an hour of buckets of at most ``len(_BIN_EDGES)``
counts each. Prometheus (:mod:`inferhouse.metrics`) has the same requests for long-term storage; this is
the short, per-process view a page can draw without one. Servers sharing a database each keep their own.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

BUCKET_SECONDS = 10
WINDOW_SECONDS = 3600
# Upper edges of the latency bins, in seconds: 1 ms, 1.2 ms, ... up to about 10 minutes; one bin past.
_BIN_EDGES = tuple(0.001 * 1.2**step for step in range(73))


def _bin(seconds: float) -> int:
    return bisect.bisect_left(_BIN_EDGES, seconds)


def _bin_value(index: int) -> float:
    """What a bin stands for in a percentile: its upper edge (the last bin: the largest edge)."""
    return _BIN_EDGES[min(index, len(_BIN_EDGES) - 1)]


@dataclass
class _Bucket:
    start: int  # seconds since the epoch, a multiple of BUCKET_SECONDS
    requests: int = 0
    errors: int = 0
    latency_bins: Counter[int] = field(default_factory=Counter)


def percentile(bins: Counter[int], fraction: float) -> float | None:
    """The latency below which ``fraction`` of the requests in ``bins`` finished (None: no requests)."""
    total = sum(bins.values())
    if not total:
        return None
    wanted = fraction * total
    seen = 0
    for index in sorted(bins):
        seen += bins[index]
        if seen >= wanted:
            return _bin_value(index)
    return _bin_value(max(bins))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


class RequestHistory:
    """Per endpoint, the last hour of requests in 10-second buckets."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._buckets: dict[str, deque[_Bucket]] = {}

    def record(self, name: str, seconds: float, *, error: bool) -> None:
        start = int(self._clock()) // BUCKET_SECONDS * BUCKET_SECONDS
        buckets = self._buckets.setdefault(name, deque(maxlen=WINDOW_SECONDS // BUCKET_SECONDS))
        if not buckets or buckets[-1].start != start:
            buckets.append(_Bucket(start))
        bucket = buckets[-1]
        bucket.requests += 1
        bucket.errors += int(error)
        bucket.latency_bins[_bin(seconds)] += 1

    def forget(self, name: str) -> None:
        self._buckets.pop(name, None)

    def series(self, name: str, window_seconds: int = WINDOW_SECONDS) -> dict[str, Any]:
        """The last ``window_seconds`` (at most an hour) bucket by bucket, empty buckets included, and a
        summary of the last minute: what the management API's ``/metrics`` route answers."""
        window = max(BUCKET_SECONDS, min(window_seconds, WINDOW_SECONDS)) // BUCKET_SECONDS * BUCKET_SECONDS
        now = int(self._clock())
        last = now // BUCKET_SECONDS * BUCKET_SECONDS
        first = last - window + BUCKET_SECONDS
        held = {bucket.start: bucket for bucket in self._buckets.get(name, ()) if bucket.start >= first}
        points = []
        for start in range(first, last + BUCKET_SECONDS, BUCKET_SECONDS):
            bucket = held.get(start) or _Bucket(start)
            points.append(
                {
                    "start": start,
                    "requests": bucket.requests,
                    "errors": bucket.errors,
                    "p50Ms": _ms(percentile(bucket.latency_bins, 0.5)),
                    "p99Ms": _ms(percentile(bucket.latency_bins, 0.99)),
                }
            )
        return {
            "bucketSeconds": BUCKET_SECONDS,
            "windowSeconds": window,
            "now": now,
            "lastMinute": self._summary(held.values(), now - 60),
            "series": points,
        }

    @staticmethod
    def _summary(buckets: Any, since: int) -> dict[str, Any]:
        """Requests per second, errors and latency percentiles of the buckets that started after
        ``since`` (a minute ago)."""
        recent = [bucket for bucket in buckets if bucket.start > since]
        merged: Counter[int] = Counter()
        for bucket in recent:
            merged.update(bucket.latency_bins)
        requests = sum(bucket.requests for bucket in recent)
        return {
            "requests": requests,
            "errors": sum(bucket.errors for bucket in recent),
            "requestsPerSecond": round(requests / 60, 3),
            "p50Ms": _ms(percentile(merged, 0.5)),
            "p99Ms": _ms(percentile(merged, 0.99)),
        }
