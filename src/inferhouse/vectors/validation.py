"""What a record must be before anything of its request is written: Pinecone's limits and messages."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from inferhouse.errors import BadRequest
from inferhouse.vectors.rows import Metadata, SparseValues, VectorRow

MAX_UPSERT_VECTORS = 1000
MAX_FETCH_IDS = 1000
MAX_TOP_K = 10_000
MAX_ID_LENGTH = 512
MAX_METADATA_BYTES = 40 * 1024
MAX_DIMENSION = 20_000
INDEX_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?")
DEFAULT_NAMESPACE_ALIAS = "__default__"
_FLOAT32_MAX = float(np.finfo(np.float32).max)


def namespace_name(value: object) -> str:
    """``""`` and ``"__default__"`` both name the default namespace."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("namespace must be a string")
    return "" if value == DEFAULT_NAMESPACE_ALIAS else value


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


def check_matches_index(length: int, dimension: int, what: str = "Vector") -> None:
    if length != dimension:
        raise BadRequest(f"{what} dimension {length} does not match the dimension of the index {dimension}")


def dense_values(
    values: object, dimension: int, what: str = "Vector"
) -> np.ndarray[Any, np.dtype[np.float32]]:
    if not isinstance(values, list) or not all(_is_number(v) for v in values):
        raise BadRequest(f"{what} values must be a list of numbers")
    check_matches_index(len(values), dimension, what)
    wide = np.asarray(values, dtype=np.float64)
    if not np.all(np.isfinite(wide)) or np.any(np.abs(wide) > _FLOAT32_MAX):
        raise BadRequest(f"{what} values must be finite 32-bit floats (no NaN or infinity)")
    return wide.astype(np.float32)


def sparse_values(value: object) -> SparseValues | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRequest("sparseValues must be an object with indices and values")
    indices, values = value.get("indices"), value.get("values")
    if not isinstance(indices, list) or not isinstance(values, list) or len(indices) != len(values):
        raise BadRequest("sparseValues needs lists indices and values of the same length")
    if not all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < 2**32 for i in indices):
        raise BadRequest("sparseValues indices must be integers from 0 to 2^32 - 1")
    if len(set(indices)) != len(indices):
        raise BadRequest("sparseValues indices must be unique")
    if not all(_is_number(v) and math.isfinite(v) for v in values):
        raise BadRequest("sparseValues values must be finite numbers")
    return SparseValues(np.asarray(indices, dtype=np.uint32), np.asarray(values, dtype=np.float32))


def metadata(value: object) -> Metadata | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRequest("metadata must be an object")
    for key, item in value.items():
        if item is None:
            raise BadRequest(f"Metadata value for field {key} cannot be null")
        is_string_list = isinstance(item, list) and all(isinstance(e, str) for e in item)
        if not (isinstance(item, str | bool) or _is_number(item) or is_string_list):
            raise BadRequest(
                f"Metadata value for field {key} must be a string, number, boolean or list of strings"
            )
        if _is_number(item) and not math.isfinite(item):
            raise BadRequest(f"Metadata value for field {key} must be a finite number")
    size = len(orjson.dumps(value))
    if size > MAX_METADATA_BYTES:
        raise BadRequest(
            f"Metadata size is {size} bytes, which exceeds the limit of {MAX_METADATA_BYTES} bytes"
        )
    return dict(value)


def upsert_records(vectors: object, dimension: int) -> list[VectorRow]:
    if not isinstance(vectors, list) or not vectors:
        raise BadRequest("vectors must be a non-empty list")
    if len(vectors) > MAX_UPSERT_VECTORS:
        raise BadRequest(f"Upsert takes at most {MAX_UPSERT_VECTORS} vectors per request, got {len(vectors)}")
    records: dict[str, VectorRow] = {}
    for position, item in enumerate(vectors):
        if not isinstance(item, Mapping):
            raise BadRequest(f"vectors[{position}] must be an object with id and values")
        vector_id = check_id(item.get("id"))
        records[vector_id] = VectorRow(  # a later duplicate in the same request wins, as in a loop
            vector_id,
            dense_values(item.get("values"), dimension),
            sparse_values(item.get("sparseValues")),
            metadata(item.get("metadata")),
        )
    return list(records.values())


def id_list(value: object, what: str = "ids") -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise BadRequest(f"{what} must be a list of strings")
    if len(value) > MAX_FETCH_IDS:
        raise BadRequest(f"{what} takes at most {MAX_FETCH_IDS} ids, got {len(value)}")
    return [check_id(item) for item in value]


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
