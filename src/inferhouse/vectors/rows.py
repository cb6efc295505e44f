"""One stored vector: its id, dense values, optional sparse values and metadata."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

Metadata = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SparseValues:
    indices: npt.NDArray[np.uint32]
    values: npt.NDArray[np.float32]

    def as_dict(self) -> dict[str, list[Any]]:
        return {"indices": self.indices.tolist(), "values": self.values.tolist()}


@dataclass(frozen=True, slots=True)
class VectorRow:
    id: str
    values: npt.NDArray[np.float32]
    sparse: SparseValues | None = None
    metadata: Metadata | None = None


@dataclass(frozen=True, slots=True)
class RowBatch:
    """Records side by side, as bulk writes move them: a thousand vectors are one matrix, so storing
    them costs a few array operations rather than a thousand small ones. Ids are unique or not; where
    one repeats, the later record wins, as if the records were written one after another."""

    ids: list[str]
    values: npt.NDArray[np.float32]  # one row per id
    sparse: list[SparseValues | None]
    metadata: list[Metadata | None]
    # The metadata as the store holds it (JSON objects), when the batch was read from a store.
    stored_metadata: list[bytes | None] | None = None

    @classmethod
    def of(cls, records: Sequence[VectorRow]) -> RowBatch:
        if not records:
            return cls([], np.empty((0, 0), dtype=np.float32), [], [])
        return cls(
            [record.id for record in records],
            np.stack([record.values for record in records]).astype(np.float32, copy=False),
            [record.sparse for record in records],
            [record.metadata for record in records],
        )

    @classmethod
    def dense(cls, ids: list[str], values: npt.NDArray[np.float32]) -> RowBatch:
        """Ids with their vectors and nothing else, as a bulk load of embeddings has them."""
        if values.ndim != 2 or len(values) != len(ids):
            raise ValueError(f"expected one row per id, got {values.shape} for {len(ids)} ids")
        return cls(ids, values.astype(np.float32, copy=False), [None] * len(ids), [None] * len(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def record(self, position: int) -> VectorRow:
        return VectorRow(
            self.ids[position], self.values[position], self.sparse[position], self.metadata[position]
        )


def updated_row(
    current: VectorRow,
    values: npt.NDArray[np.float32] | None,
    sparse: SparseValues | None,
    set_metadata: Metadata | None,
) -> VectorRow:
    """``current`` with what an update names replaced; ``set_metadata`` merges into its metadata."""
    merged = {**(current.metadata or {}), **set_metadata} if set_metadata else current.metadata
    return VectorRow(
        current.id,
        current.values if values is None else values,
        current.sparse if sparse is None else sparse,
        merged,
    )
