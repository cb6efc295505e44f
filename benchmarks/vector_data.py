"""Realistic stand-ins for sentence embeddings: a seeded Gaussian mixture on the unit sphere.

Real embeddings of a million passages would take this CPU machine about two hours to compute, so the
vectors are synthetic but shaped like real ones: 2,000 topic centres in 384 dimensions, each point a
centre plus isotropic noise, normalised. Nearest neighbours are then mostly in the same topic but not
trivially so (the noise is comparable to the distance between topics), which is what makes ANN recall
hard on real data too. Queries are held-out points from the same mixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

DIMENSION = 384
TOPICS = 2_000
NOISE = 0.6


def _normalised(x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    out: npt.NDArray[np.float32] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def mixture_chunks(n: int, seed: int, chunk: int = 100_000) -> Iterator[npt.NDArray[np.float32]]:
    """The mixture in chunks, so a benchmark never has to hold a second copy of a million vectors."""
    centres_rng = np.random.default_rng(12345)
    centres = _normalised(centres_rng.normal(size=(TOPICS, DIMENSION)).astype(np.float32))
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        size = min(n, start + chunk) - start
        topic = rng.integers(0, TOPICS, size)
        noise = rng.normal(scale=NOISE / np.sqrt(DIMENSION), size=(size, DIMENSION)).astype(np.float32)
        yield _normalised(centres[topic] + noise)


def corpus_chunks(n: int) -> Iterator[npt.NDArray[np.float32]]:
    return mixture_chunks(n, seed=1)


def queries(n: int) -> npt.NDArray[np.float32]:
    return np.concatenate(list(mixture_chunks(n, seed=2)))


def exact_top_k(
    data: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int
) -> npt.NDArray[np.intp]:
    scores = data @ query
    top = np.argpartition(-scores, k)[:k]
    ordered: npt.NDArray[np.intp] = top[np.argsort(-scores[top])]
    return ordered
