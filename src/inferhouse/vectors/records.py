"""One stored vector: its id, dense values, optional sparse values and metadata."""

from __future__ import annotations

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
class VectorRecord:
    id: str
    values: npt.NDArray[np.float32]
    sparse: SparseValues | None = None
    metadata: Metadata | None = None
