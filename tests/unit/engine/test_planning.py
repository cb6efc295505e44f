from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferhouse.engine.planning import (
    MIN_SHARED_BATCH,
    balanced_by_tokens,
    pass_cost,
    plan_batches,
    plan_round,
    should_pack,
)


def test_similar_lengths_share_one_batch() -> None:
    assert plan_batches([10, 11, 12, 10], max_tokens=1000, max_size=64, overhead_tokens=64) == [[0, 3, 1, 2]]


def test_a_long_outlier_gets_its_own_batch() -> None:
    plan = plan_batches([8, 8, 8, 8, 250], max_tokens=16384, max_size=64, overhead_tokens=64)
    assert plan == [[0, 1, 2, 3], [4]]


def test_size_cap_and_token_budget() -> None:
    assert all(len(batch) <= 3 for batch in plan_batches([5] * 10, 10_000, 3, 0))
    plan = plan_batches([100] * 10, max_tokens=300, max_size=64, overhead_tokens=64)
    assert all(len(batch) * 100 <= 300 for batch in plan)


def test_an_input_over_the_budget_still_runs_alone() -> None:
    assert plan_batches([500, 1], max_tokens=100, max_size=8, overhead_tokens=0) == [[1], [0]]


@given(
    st.lists(st.integers(1, 512), min_size=1, max_size=120),
    st.integers(64, 20000),
    st.integers(1, 64),
    st.integers(0, 256),
)
def test_every_input_is_planned_exactly_once(
    lengths: list[int], budget: int, size: int, overhead: int
) -> None:
    plan = plan_batches(lengths, budget, size, overhead)
    assert sorted(i for batch in plan for i in batch) == list(range(len(lengths)))
    for batch in plan:
        assert len(batch) <= size
        assert len(batch) == 1 or len(batch) * max(lengths[i] for i in batch) <= budget


def test_a_round_is_shared_among_workers() -> None:
    lengths = [10 + i % 7 for i in range(64)]
    shared = plan_round(lengths, 16384, 64, 64, workers=2)
    assert len(shared) >= 2
    assert max(len(batch) for batch in shared) <= 32
    assert sorted(i for batch in shared for i in batch) == list(range(64))
    assert plan_round(lengths, 16384, 64, 64, workers=1) == plan_batches(lengths, 16384, 64, 64)


def test_a_small_round_is_not_cut_below_the_minimum_for_sharing() -> None:
    lengths = [12] * MIN_SHARED_BATCH
    assert plan_round(lengths, 16384, 64, 64, workers=4) == [list(range(MIN_SHARED_BATCH))]


def test_a_shared_round_starts_with_its_costliest_pass() -> None:
    # Sorted by length, the plan would end with the long inputs; workers taking passes in order would
    # then leave the longest pass last, with the other workers idle while it runs.
    lengths = [5 + (i * 37) % 90 for i in range(64)]
    shared = plan_round(lengths, 16384, 64, 16, workers=2)
    costs = [pass_cost([lengths[i] for i in batch], 0.0) for batch in shared]
    assert costs == sorted(costs, reverse=True)
    assert costs[0] > costs[-1]
    assert sorted(i for batch in shared for i in batch) == list(range(64))


def test_pass_cost_is_the_cheaper_of_padding_and_packing() -> None:
    assert pass_cost([3, 40], 0.0) == 80  # padded: 2 rows of 40
    assert pass_cost([3, 40], 1.2) == pytest.approx(43 * 1.2)  # packed: every real token at 1.2
    assert pass_cost([30, 31], 1.2) == 62  # padding wastes less than packing costs


def test_an_input_longer_than_a_packed_row_is_never_packed() -> None:
    # Packed, the 100-token input would widen every row of its batch to 100 tokens.
    assert should_pack([3, 5, 4, 30], 1.1, row_tokens=64)
    assert not should_pack([3, 5, 4, 100], 1.1, row_tokens=64)
    assert should_pack([3, 5, 4, 100], 1.1)  # no row limit
    lengths = [4, 5, 6, 100, 110]
    for batch in plan_batches(lengths, 16384, 64, 16, packed_token_cost=1.1, packed_row_tokens=64):
        longest = max(lengths[i] for i in batch)
        if longest > 64:  # padded, so its cost was counted as padded
            assert pass_cost([lengths[i] for i in batch], 1.1, 64) == len(batch) * longest


def test_unpadded_passes_share_a_round_by_tokens_not_by_count() -> None:
    # Twelve short inputs and four long ones: cut by count, one worker would get nearly all the tokens.
    lengths = [10] * 12 + [90] * 4
    shared = plan_round(lengths, 16384, 64, 64, packed_token_cost=1.0, workers=2)
    tokens = [sum(lengths[i] for i in batch) for batch in shared]
    assert len(shared) == 2
    assert max(tokens) == 270, tokens  # the best cut: 12 x 10 + 90 | 3 x 90; eight and eight is 80 | 400
    assert sorted(i for batch in shared for i in batch) == list(range(16))
    first, second = ([lengths[i] for i in batch] for batch in shared)
    # Each pass a run of neighbouring lengths, so attention pads little: their ranges do not interleave.
    assert max(first) <= min(second) or max(second) <= min(first)


def test_rows_of_a_fixed_width_are_not_rebalanced() -> None:
    # Packed rows of 64 tokens (torch) or padded rows cost more than their tokens: the planner's own cut
    # stands, costliest pass first.
    lengths = [10] * 12 + [90] * 4
    for cost, row in ((1.1, 64), (0.0, 0)):
        planned = plan_batches(lengths, 16384, 8, 64, packed_token_cost=cost, packed_row_tokens=row)
        expected = sorted(planned, key=lambda batch: -pass_cost([lengths[i] for i in batch], cost, row))
        shared = plan_round(lengths, 16384, 64, 64, packed_token_cost=cost, packed_row_tokens=row, workers=2)
        assert shared == expected


@given(
    st.lists(st.integers(1, 512), min_size=1, max_size=120),
    st.integers(1, 8),
    st.integers(512, 20000),
    st.integers(1, 64),
)
def test_balanced_runs_cover_every_input_once_within_the_caps(
    lengths: list[int], parts: int, budget: int, size: int
) -> None:
    runs = balanced_by_tokens(lengths, parts, budget, size)
    assert sorted(i for run in runs for i in run) == list(range(len(lengths)))
    assert all(run for run in runs)
    for run in runs:
        assert len(run) <= size
        assert len(run) == 1 or sum(lengths[i] for i in run) <= budget
    if size >= len(lengths) and budget >= sum(lengths):
        assert len(runs) <= parts
