"""Splitting queued inputs into forward passes: length-sorted, bounded, and cheap in padding."""

from __future__ import annotations

from collections.abc import Sequence


def plan_batches(
    lengths: Sequence[int], max_tokens: int, max_size: int, overhead_tokens: int
) -> list[list[int]]:
    """Group input indices into batches that minimise padded tokens plus a fixed cost per batch.

    Inputs are sorted by length, so every batch is a contiguous run and costs
    ``overhead_tokens + size * longest``. A dynamic programme picks the cut points under the size cap and
    the token budget (``size * longest <= max_tokens``; a single over-budget input still gets a batch).
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    sorted_lengths = [max(1, lengths[i]) for i in order]
    n = len(order)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = sorted_lengths[end - 1]
        for start in range(end - 1, max(-1, end - 1 - max_size), -1):
            size = end - start
            if size > 1 and size * longest > max_tokens:
                break
            cost = best[start] + overhead_tokens + size * longest
            if cost < best[end]:
                best[end] = cost
                cut[end] = start
    batches: list[list[int]] = []
    end = n
    while end > 0:
        start = cut[end]
        batches.append(order[start:end])
        end = start
    batches.reverse()
    return batches
