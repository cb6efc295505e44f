"""Directories in Pinecone's import layout, written with pyarrow as a user's pipeline would write them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

SPARSE = pa.struct([("indices", pa.list_(pa.uint32())), ("values", pa.list_(pa.float32()))])


def write_namespace(
    root: Path,
    namespace: str,
    ids: Sequence[str | None],
    values: Sequence[Sequence[float] | None] | npt.NDArray[np.float32],
    *,
    metadata: Sequence[Mapping[str, Any] | str | None] | None = None,
    sparse: Sequence[Mapping[str, list[Any]] | None] | None = None,
    file_name: str = "0.parquet",
    row_group_size: int | None = None,
) -> Path:
    """One Parquet file in ``root/<namespace or __default__>/``; metadata given as dicts is JSON-encoded."""
    folder = root / (namespace or "__default__")
    folder.mkdir(parents=True, exist_ok=True)
    columns: dict[str, pa.Array] = {"id": pa.array(ids, pa.string())}
    if isinstance(values, np.ndarray):
        count, dimension = values.shape
        offsets = pa.array(np.arange(count + 1, dtype=np.int32) * dimension)
        columns["values"] = pa.ListArray.from_arrays(offsets, pa.array(values.reshape(-1)))
    else:
        columns["values"] = pa.array(values, pa.list_(pa.float32()))
    if sparse is not None:
        columns["sparse_values"] = pa.array(sparse, SPARSE)
    if metadata is not None:
        columns["metadata"] = pa.array(
            [item if item is None or isinstance(item, str) else json.dumps(item) for item in metadata],
            pa.string(),
        )
    path = folder / file_name
    pq.write_table(pa.table(columns), path, row_group_size=row_group_size)
    return path
