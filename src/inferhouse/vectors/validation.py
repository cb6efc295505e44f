"""What a stored vector must be, whoever sends it: Pinecone's limits and messages.

Reading a request's fields is the dialect's (``api/pinecone/parsing.py``); these checks hold for every
caller (the Pinecone routes, integrated records, the registry's own configuration).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

import numpy as np
import orjson

from inferhouse.errors import BadRequest
from inferhouse.vectors.rows import Metadata, SparseValues
from inferhouse.vectors.scoring import Metric

MAX_ID_LENGTH = 512
MAX_METADATA_BYTES = 40 * 1024
MAX_DIMENSION = 20_000
INDEX_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_index_name(name: object) -> str:
    if not isinstance(name, str) or not INDEX_NAME.fullmatch(name):
        raise BadRequest(
            "Name must consist of lower case alphanumeric characters or '-', start and end with an "
            "alphanumeric character, and be 1 to 45 characters long"
        )
    return name


def whole_number(value: object) -> int | None:
    """``value`` as an integer when it is one: JSON has one number type, so 3.0 is 3; true is not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value if isinstance(value, int) else None


def check_dimension(dimension: object) -> int:
    whole = whole_number(dimension)
    if whole is None or not 1 <= whole <= MAX_DIMENSION:
        raise BadRequest(f"Dimension must be an integer between 1 and {MAX_DIMENSION}, got {dimension!r}")
    return whole


def check_id(value: object) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise BadRequest(f"Vector id must be a string of 1 to {MAX_ID_LENGTH} characters, got {value!r:.80}")
    return value


def check_sparse_allowed(metric: Metric, sparse: Sequence[SparseValues | None]) -> None:
    """As Pinecone: sparse values only on a dotproduct index, the one metric that scores them."""
    if metric != Metric.DOTPRODUCT and any(item is not None for item in sparse):
        raise BadRequest(
            "Index configuration does not support sparse values: only dotproduct indexes take them"
        )


def check_matches_index(length: int, dimension: int, what: str = "Vector") -> None:
    if length != dimension:
        raise BadRequest(f"{what} dimension {length} does not match the dimension of the index {dimension}")


def finite_vector(values: Sequence[float], what: str = "Vector") -> np.ndarray[Any, np.dtype[np.float32]]:
    """``values`` as float32, each finite and within float32's range (a wider value would become inf)."""
    wide = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(wide)) or np.any(np.abs(wide) > _FLOAT32_MAX):
        raise BadRequest(f"{what} values must be finite 32-bit floats (no NaN or infinity)")
    return wide.astype(np.float32)


def sparse_vector(indices: Sequence[object], values: Sequence[object], what: str) -> SparseValues:
    """A sparse vector of unique 32-bit indices and finite values, as many of each."""
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**32 for i in indices):
        raise BadRequest(f"{what} indices must be integers from 0 to 2^32 - 1")
    if len(set(indices)) != len(indices):
        raise BadRequest(f"{what} indices must be unique")
    if not all(is_number(v) and math.isfinite(v) for v in values):
        raise BadRequest(f"{what} values must be finite numbers")
    return SparseValues(np.asarray(indices, dtype=np.uint32), np.asarray(values, dtype=np.float32))


def check_sparse_query(sparse: SparseValues | None, metric: Metric) -> None:
    """Only dotproduct scores sparse values, so only a dotproduct index is queried with them."""
    if sparse is not None and metric != Metric.DOTPRODUCT:
        raise BadRequest("Sparse vectors can be queried only on indexes with the dotproduct metric")


def metadata(value: object) -> Metadata | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRequest("metadata must be an object")
    for key, item in value.items():
        if item is None:
            raise BadRequest(f"Metadata value for field {key} cannot be null")
        is_string_list = isinstance(item, list) and all(isinstance(e, str) for e in item)
        if not (isinstance(item, str | bool) or is_number(item) or is_string_list):
            raise BadRequest(
                f"Metadata value for field {key} must be a string, number, boolean or list of strings"
            )
        if is_number(item) and not math.isfinite(item):
            raise BadRequest(f"Metadata value for field {key} must be a finite number")
    size = len(orjson.dumps(value))
    if size > MAX_METADATA_BYTES:
        raise BadRequest(
            f"Metadata size is {size} bytes, which exceeds the limit of {MAX_METADATA_BYTES} bytes"
        )
    return dict(value)


def check_merged_metadata(vector_id: str, current: Metadata | None, patch: Metadata) -> None:
    """An update merging ``patch`` into a record's metadata must leave it within the limit too."""
    size = len(orjson.dumps({**(current or {}), **patch}))
    if size > MAX_METADATA_BYTES:
        raise BadRequest(
            f"Updating the metadata of {vector_id!r:.80} would make it {size} bytes, over the limit of "
            f"{MAX_METADATA_BYTES} bytes; nothing was updated"
        )


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number: a bool is an int to Python, not to JSON."""
    return isinstance(value, int | float) and not isinstance(value, bool)
