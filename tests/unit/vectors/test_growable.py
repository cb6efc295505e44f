"""The in-place growable matrix keeps every row through growth, whether the mapping moves or is copied."""

from __future__ import annotations

import numpy as np

from inferhouse.vectors.growable import GrowableMatrix


def test_rows_survive_many_growths() -> None:
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(5000, 7)).astype(np.float32)
    matrix = GrowableMatrix(7)
    for start in range(0, len(rows), 333):
        end = min(start + 333, len(rows))
        matrix.reserve(end)
        matrix.array[start:end] = rows[start:end]
    assert matrix.capacity >= len(rows)
    assert np.array_equal(matrix.array[: len(rows)], rows)


def test_a_held_view_forces_a_copy_that_keeps_rows() -> None:
    matrix = GrowableMatrix(3, capacity=4)
    matrix.reserve(4)
    matrix.array[:4] = np.arange(12, dtype=np.float32).reshape(4, 3)
    held = matrix.array[:2]  # a caller still looking at the old rows pins the mapping in place
    matrix.reserve(10_000)
    assert matrix.capacity >= 10_000
    assert np.array_equal(matrix.array[:4], np.arange(12, dtype=np.float32).reshape(4, 3))
    assert np.array_equal(held, np.arange(6, dtype=np.float32).reshape(2, 3))
    matrix.array[4:10_000] = 1.0
    assert float(matrix.array[:10_000].sum()) == float(np.arange(12).sum()) + 9_996 * 3
