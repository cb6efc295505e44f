"""Scores as Pinecone defines them: cosine similarity and dot product rank high first; euclidean is the
squared distance and ranks low first."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt


class Metric(StrEnum):
    COSINE = "cosine"
    EUCLIDEAN = "euclidean"
    DOTPRODUCT = "dotproduct"

    @property
    def higher_is_better(self) -> bool:
        return self is not Metric.EUCLIDEAN


def dense_scores(
    matrix: npt.NDArray[np.float32],
    norms: npt.NDArray[np.float32],
    query: npt.NDArray[np.float32],
    metric: Metric,
) -> npt.NDArray[np.float32]:
    """Score every row of ``matrix`` (whose row norms are ``norms``) against ``query``."""
    dots: npt.NDArray[np.float32] = matrix @ query
    if metric is Metric.DOTPRODUCT:
        return dots
    query_norm = np.float32(np.linalg.norm(query))
    if metric is Metric.COSINE:
        denominator = np.maximum(norms * query_norm, np.float32(1e-30))
        cosines: npt.NDArray[np.float32] = (dots / denominator).astype(np.float32)
        return cosines
    squared: npt.NDArray[np.float32] = np.maximum(norms**2 + query_norm**2 - 2 * dots, 0).astype(np.float32)
    return squared
