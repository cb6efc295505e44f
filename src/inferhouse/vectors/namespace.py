"""One namespace of an index, in memory: a growable matrix of vectors with their ids and metadata.

Exact search over it is the ground truth every faster structure is held against, and the path filtered
queries take, so a selective filter still gets the exact top_k of the matching records.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.records import Metadata, SparseValues, VectorRecord
from inferhouse.vectors.scoring import Metric, dense_scores

_EMPTY: Metadata = {}


@dataclass(frozen=True, slots=True)
class Hit:
    row: int
    score: float


class Namespace:
    def __init__(self, dimension: int) -> None:
        self.dimension = dimension
        self.ids: list[str] = []
        self.rows: dict[str, int] = {}
        self.metadata: list[Metadata | None] = []
        self.sparse: list[SparseValues | None] = []
        self._matrix = np.empty((16, dimension), dtype=np.float32)
        self._norms = np.empty(16, dtype=np.float32)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def matrix(self) -> npt.NDArray[np.float32]:
        return self._matrix[: len(self.ids)]

    @property
    def norms(self) -> npt.NDArray[np.float32]:
        return self._norms[: len(self.ids)]

    def put(self, records: Sequence[VectorRecord]) -> None:
        self._reserve(len(self.ids) + len(records))
        for record in records:
            row = self.rows.get(record.id)
            if row is None:
                row = len(self.ids)
                self.rows[record.id] = row
                self.ids.append(record.id)
                self.metadata.append(None)
                self.sparse.append(None)
            self._matrix[row] = record.values
            self._norms[row] = np.linalg.norm(record.values)
            self.metadata[row] = record.metadata
            self.sparse[row] = record.sparse

    def remove(self, ids: Iterable[str]) -> int:
        """Delete by moving the last row into the freed slot; returns how many existed."""
        removed = 0
        for vector_id in ids:
            row = self.rows.pop(vector_id, None)
            if row is None:
                continue
            removed += 1
            last = len(self.ids) - 1
            if row != last:
                moved = self.ids[last]
                self.ids[row] = moved
                self.rows[moved] = row
                self._matrix[row] = self._matrix[last]
                self._norms[row] = self._norms[last]
                self.metadata[row] = self.metadata[last]
                self.sparse[row] = self.sparse[last]
            self.ids.pop()
            self.metadata.pop()
            self.sparse.pop()
        return removed

    def record(self, row: int) -> VectorRecord:
        return VectorRecord(self.ids[row], self._matrix[row].copy(), self.sparse[row], self.metadata[row])

    def get(self, vector_id: str) -> VectorRecord | None:
        row = self.rows.get(vector_id)
        return None if row is None else self.record(row)

    def matching_rows(self, predicate: Predicate) -> npt.NDArray[np.bool_]:
        return np.fromiter((predicate(m or _EMPTY) for m in self.metadata), dtype=bool, count=len(self.ids))

    def search(
        self,
        query: npt.NDArray[np.float32],
        top_k: int,
        metric: Metric,
        predicate: Predicate | None = None,
        sparse_query: SparseValues | None = None,
    ) -> list[Hit]:
        """The exact top_k, best first; ties go to the smaller id so results are stable."""
        if not self.ids:
            return []
        scores = dense_scores(self.matrix, self.norms, query, metric)
        if sparse_query is not None:
            scores = scores + self._sparse_scores(sparse_query)
        candidates = np.arange(len(self.ids))
        if predicate is not None:
            candidates = np.flatnonzero(self.matching_rows(predicate))
            scores = scores[candidates]
        if not len(candidates):
            return []
        ranked = -scores if metric.higher_is_better else scores
        k = min(top_k, len(candidates))
        if k < len(candidates):
            # Everything tied with the k-th best stays in the running, so the id tie-break is exact.
            kth = ranked[np.argpartition(ranked, k - 1)[k - 1]]
            chosen = np.flatnonzero(ranked <= kth)
        else:
            chosen = np.arange(len(candidates))
        order = sorted(chosen.tolist(), key=lambda i: (float(ranked[i]), self.ids[candidates[i]]))[:k]
        return [Hit(int(candidates[i]), float(scores[i])) for i in order]

    def _sparse_scores(self, query: SparseValues) -> npt.NDArray[np.float32]:
        weights = dict(zip(query.indices.tolist(), query.values.tolist(), strict=True))
        out = np.zeros(len(self.ids), dtype=np.float32)
        for row, sparse in enumerate(self.sparse):
            if sparse is not None:
                out[row] = sum(
                    weights.get(i, 0.0) * v
                    for i, v in zip(sparse.indices.tolist(), sparse.values.tolist(), strict=True)
                )
        return out

    def _reserve(self, needed: int) -> None:
        capacity = len(self._matrix)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        matrix = np.empty((capacity, self.dimension), dtype=np.float32)
        matrix[: len(self.ids)] = self.matrix
        norms = np.empty(capacity, dtype=np.float32)
        norms[: len(self.ids)] = self.norms
        self._matrix, self._norms = matrix, norms
