"""A 64-bit fingerprint of each stored vector, to tell whether a saved ANN graph still describes a row.

A graph saved to disk knows its rows by id; after a restart, a row whose id it knows may have been
rewritten since the save. Comparing fingerprints finds those rows without keeping a second copy of the
vectors. A collision only costs recall (the graph proposes a candidate by its old position); the
scores of every answer come from the exact rows, so a fingerprint can never make a result wrong.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

# Saved with each graph: a change to how prints are computed must make older saves read as stale.
FORMAT = 1

# Odd multipliers, one per 32-bit word, from a fixed seed: the same vector always gets the same print.
_MULTIPLIERS: dict[int, npt.NDArray[np.uint64]] = {}
_CHUNK_ROWS = 8192  # bounds the uint64 scratch to ~25 MB at 384 dimensions


def _multipliers(words: int) -> npt.NDArray[np.uint64]:
    found = _MULTIPLIERS.get(words)
    if found is None:
        rng = np.random.default_rng(0x1F2E3D4C)
        found = rng.integers(1, 2**63, size=words, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
        _MULTIPLIERS[words] = found
    return found


def fingerprints(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint64]:
    """One fingerprint per row: a multiply-and-add of the rows' raw bits, 64 at a time, wrapping at 2**64."""
    rows = np.ascontiguousarray(vectors, dtype=np.float32)
    out = np.empty(len(rows), dtype=np.uint64)
    if not len(rows):
        return out
    if rows.shape[1] % 2:  # an odd width has no whole 64-bit words: pad it with a zero column
        rows = np.concatenate([rows, np.zeros((len(rows), 1), dtype=np.float32)], axis=1)
    words = rows.view(np.uint64)
    multipliers = _multipliers(words.shape[1])
    with np.errstate(over="ignore"):
        for start in range(0, len(rows), _CHUNK_ROWS):
            block = words[start : start + _CHUNK_ROWS] * multipliers
            out[start : start + len(block)] = block.sum(axis=1, dtype=np.uint64)
    return out
