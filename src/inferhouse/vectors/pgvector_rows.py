"""How a pgvector index reads its rows back and turns a filter into SQL, for every module that queries it."""

from __future__ import annotations

from typing import Any

import numpy as np
from psycopg import sql

from inferhouse.vectors.filters import Filter, Predicate
from inferhouse.vectors.rows import SparseValues, VectorRow
from inferhouse.vectors.sql_filters import filter_condition


def condition_of(predicate: Predicate) -> sql.Composed:
    if not isinstance(predicate, Filter):
        raise TypeError("a pgvector index filters with a checked Filter (compile_filter), not a callable")
    return filter_condition(predicate.spec)


def record_of(row: tuple[Any, ...]) -> VectorRow:
    """A row selected as ``id, embedding, sparse, metadata``."""
    sparse = None
    if row[2] is not None:
        sparse = SparseValues(
            np.asarray(row[2]["indices"], dtype=np.uint32), np.asarray(row[2]["values"], dtype=np.float32)
        )
    return VectorRow(row[0], row[1], sparse, row[3])
