"""Splitting queued inputs into forward passes: length-sorted, bounded, and cheap in padding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class _PassLimits(Protocol):
    max_pass_tokens: int


def pass_budget(max_tokens: int, backend: _PassLimits) -> int:
    """The token budget of one pass: the server's, or less where the backend slows down past a size."""
    return min(max_tokens, backend.max_pass_tokens) if backend.max_pass_tokens else max_tokens


def padded_cost(size: int, longest: int) -> float:
    return float(size * longest)


def packed_cost(total: int, packed_token_cost: float) -> float:
    return total * packed_token_cost


def should_pack(lengths: Sequence[int], packed_token_cost: float, row_tokens: int = 0) -> bool:
    """Whether packing this batch (see ``backends/packing.py``) costs less than padding it. An input
    longer than a packed row (``row_tokens``; 0: no limit) would widen every row of the batch to its
    length, so such a batch is padded."""
    if not packed_token_cost or len(lengths) < 2 or not packable(max(lengths), row_tokens):
        return False
    return packed_cost(sum(lengths), packed_token_cost) < padded_cost(len(lengths), max(lengths))


def packable(longest: int, row_tokens: int) -> bool:
    return not row_tokens or longest <= row_tokens


# A round is not cut for other workers into passes smaller than this: below it, a pass's fixed cost
# outweighs what running in parallel gains.
MIN_SHARED_BATCH = 8


def plan_round(
    lengths: Sequence[int],
    max_tokens: int,
    max_size: int,
    overhead_tokens: int,
    *,
    packed_token_cost: float = 0.0,
    packed_row_tokens: int = 0,
    workers: int = 1,
) -> list[list[int]]:
    """:func:`plan_batches` for ``workers`` threads sharing a round: one large round is cut so that
    each of them gets a share of it, and the costliest passes come first. Workers take passes in order
    as they come free, so starting with the longest lets the short ones fill in at the end and the
    workers finish the round together (longest processing time first)."""
    share = -(-len(lengths) // max(1, workers))
    size = min(max_size, max(MIN_SHARED_BATCH, share)) if workers > 1 else max_size
    batches = plan_batches(
        lengths,
        max_tokens,
        size,
        overhead_tokens,
        packed_token_cost=packed_token_cost,
        packed_row_tokens=packed_row_tokens,
    )
    if workers <= 1:
        return batches
    if len(batches) > 1 and packed_token_cost and not packed_row_tokens:
        # A whole number of passes per worker, or the workers finish the round at different times.
        parts = -(-len(batches) // workers) * workers
        batches = balanced_by_tokens(lengths, parts, max_tokens, max_size)
    return sorted(
        batches,
        key=lambda batch: -pass_cost([lengths[i] for i in batch], packed_token_cost, packed_row_tokens),
    )


def balanced_by_tokens(lengths: Sequence[int], parts: int, max_tokens: int, max_size: int) -> list[list[int]]:
    """Length-sorted runs of near-equal token sums, about ``parts`` of them, none over the caps.

    For a backend whose passes cost their tokens whatever the lengths in them (unpadded rows), any cut
    of the sorted inputs into ``parts`` costs the same, and the planner's pick among such ties can
    leave one worker most of the round. Cutting at equal shares of the tokens lets the workers finish
    together; runs of neighbouring lengths keep attention's padding small."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    total = sum(max(1, lengths[i]) for i in order)
    runs: list[list[int]] = [[]]
    seen = in_run = 0
    for index in order:
        tokens = max(1, lengths[index])
        share_passed = seen + tokens / 2 > total * len(runs) / parts  # the nearer side of the share
        full = len(runs[-1]) >= max_size or in_run + tokens > max_tokens
        if runs[-1] and (share_passed or full):
            runs.append([])
            in_run = 0
        runs[-1].append(index)
        seen += tokens
        in_run += tokens
    return runs


def pass_cost(lengths: Sequence[int], packed_token_cost: float, packed_row_tokens: int = 0) -> float:
    """Tokens one pass computes: padded to its longest, or packed when that is cheaper."""
    if should_pack(lengths, packed_token_cost, packed_row_tokens):
        return packed_cost(sum(lengths), packed_token_cost)
    return padded_cost(len(lengths), max(lengths))


def plan_batches(
    lengths: Sequence[int],
    max_tokens: int,
    max_size: int,
    overhead_tokens: int,
    *,
    packed_token_cost: float = 0.0,
    packed_row_tokens: int = 0,
) -> list[list[int]]:
    """Group input indices into batches that minimise the work computed plus a fixed cost per batch.

    Inputs are sorted by length, so every batch is a contiguous run. A padded batch computes
    ``size * longest`` tokens; a packed one only the sum of its lengths, each token costing
    ``packed_token_cost`` (above 1 for the wider attention of a shared row; 0 when the backend cannot
    pack), and only while no input is longer than a packed row (``packed_row_tokens``). A dynamic
    programme picks the cut points under the size cap and the token budget (a single input over the
    budget still gets a batch of its own).
    """
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    sorted_lengths = [max(1, lengths[i]) for i in order]
    n = len(order)
    best = [0.0] + [float("inf")] * n
    cut = [0] * (n + 1)
    for end in range(1, n + 1):
        longest = sorted_lengths[end - 1]
        packs = bool(packed_token_cost) and packable(longest, packed_row_tokens)
        total = 0
        for start in range(end - 1, max(-1, end - 1 - max_size), -1):
            size = end - start
            total += sorted_lengths[start]
            tensor_tokens = total if packs else size * longest
            if size > 1 and tensor_tokens > max_tokens:
                break
            computed = padded_cost(size, longest)
            if packs:
                computed = min(computed, packed_cost(total, packed_token_cost))
            cost = best[start] + overhead_tokens + computed
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
