"""Packed rows give the padded path's vectors, on the tiny test model and on the bundled one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferhouse.engine.backends.packing import assign_rows
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.planning import plan_batches, should_pack
from inferhouse.engine.sources import bundled_model_path

TEXTS = [
    "x",
    "a happy dog",
    "The quick brown fox jumps over the lazy dog while the cat watches from the windowsill.",
    "word " * 300,
    "Sentence embeddings map text to dense vectors; similar meanings end up close together.",
    "東京 café 🐕",
]


@given(st.lists(st.integers(1, 300), min_size=1, max_size=80), st.integers(16, 256))
def test_rows_hold_every_input_once_within_capacity(lengths: list[int], capacity: int) -> None:
    rows = assign_rows(lengths, capacity)
    assert sorted(i for row in rows for i in row) == list(range(len(lengths)))
    for row in rows:
        assert len(row) == 1 or sum(lengths[i] for i in row) <= capacity


@pytest.fixture(scope="module", params=["tiny", "bundled"])
def backend(request: pytest.FixtureRequest, tiny_model_dir: Path) -> SentenceTransformerBackend:
    path = tiny_model_dir if request.param == "tiny" else bundled_model_path()
    return SentenceTransformerBackend.load(path)


def test_packing_is_verified_on_at_load(backend: SentenceTransformerBackend) -> None:
    assert backend.packed_token_cost > 1.0


@pytest.mark.parametrize("direction", ["right", "left"])
def test_packed_equals_padded(backend: SentenceTransformerBackend, direction: str) -> None:
    items = backend.tokenize(TEXTS, direction)  # type: ignore[arg-type]
    packed = backend._forward_packed(items)
    padded = backend._forward_padded(items)
    assert np.allclose(packed, padded, atol=1e-4)


def test_mixed_lengths_pack_and_similar_lengths_pad() -> None:
    assert should_pack([3, 40, 5, 60], packed_token_cost=1.06)
    assert not should_pack([30, 31, 30, 32], packed_token_cost=1.06)
    assert not should_pack([3, 40, 5, 60], packed_token_cost=0.0)  # the backend cannot pack


def test_planner_merges_mixed_lengths_when_packing_is_possible() -> None:
    lengths = [3, 90, 5, 60, 7, 45, 12, 30]
    padded_plan = plan_batches(lengths, 16384, 64, 64)
    packed_plan = plan_batches(lengths, 16384, 64, 64, packed_token_cost=1.06)
    assert len(packed_plan) == 1
    assert len(padded_plan) >= len(packed_plan)
