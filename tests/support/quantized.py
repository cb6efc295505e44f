"""Shared by the quantized-index tests: clustered vectors, exact cosine scores, and waiting for a graph."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

QUANTIZATION_TAG = "inferhouse-quantization"
# What a saved graph's manifest says it stores, by quantization (vectors/ann.py).
GRAPH_DTYPES = {"int8": "i8", "binary": "b1"}

Vectors = npt.NDArray[np.float32]


def clustered(count: int, queries: int, dimension: int, seed: int) -> tuple[Vectors, Vectors]:
    """``count`` vectors and ``queries`` more from around the same few far-apart centres: a query's
    neighbours are close and the rest far, as with embeddings of a corpus and of questions about it."""
    rng = np.random.default_rng(seed)
    centres = 3 * rng.standard_normal((20, dimension))
    total = count + queries
    values = (centres[rng.integers(0, len(centres), total)] + rng.standard_normal((total, dimension))).astype(
        np.float32
    )
    return values[:count], values[count:]


def cosine_scores(matrix: Vectors, query: Vectors) -> npt.NDArray[np.float64]:
    """Every row's exact cosine score against ``query``, in float64."""
    rows = matrix.astype(np.float64)
    vector = query.astype(np.float64)
    scores: npt.NDArray[np.float64] = rows @ vector / (np.linalg.norm(rows, axis=1) * np.linalg.norm(vector))
    return scores


def saved_graph(data_dir: Path, index: str, count: int, timeout: float = 60) -> dict[str, Any]:
    """The manifest of the index's saved graph once it holds ``count`` vectors: upkeep saves a graph only
    after it has caught up with the rows, so from then on queries go through the graph."""
    directory = data_dir / "indexes" / f"{index}.sqlite3.graphs"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for path in directory.glob("*.json") if directory.is_dir() else ():
            manifest: dict[str, Any] = json.loads(path.read_text())
            if manifest["count"] == count:
                return manifest
        time.sleep(0.1)
    raise AssertionError(f"no saved graph of {count} vectors for {index} in {timeout}s")
