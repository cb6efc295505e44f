"""Pinecone's request bodies turned into the index's values: its field names, request limits and messages.

The routes decode a body once (``api/core/bodies.py``) and read it here field by field; what a stored
vector must be, whoever sends it, is checked in ``vectors/validation.py``. Per-element pydantic
validation of vector payloads costs too much, so ``schemas.py`` only describes these bodies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from inferhouse.errors import BadRequest
from inferhouse.vectors.rows import SparseValues, VectorRow
from inferhouse.vectors.validation import (
    check_id,
    check_matches_index,
    finite_vector,
    is_number,
    metadata,
    sparse_vector,
)

MAX_UPSERT_VECTORS = 1000
MAX_FETCH_IDS = 1000
MAX_TOP_K = 10_000
DEFAULT_NAMESPACE_ALIAS = "__default__"


def namespace_name(value: object) -> str:
    """``""`` and ``"__default__"`` both name the default namespace."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest("namespace must be a string")
    return "" if value == DEFAULT_NAMESPACE_ALIAS else value


# What JSON numbers decode to; checking each value's exact type is a fast first pass over a long vector.
_NUMBER_TYPES = frozenset({int, float})


def dense_values(
    values: object, dimension: int, what: str = "Vector"
) -> np.ndarray[Any, np.dtype[np.float32]]:
    if not isinstance(values, list) or not (
        _NUMBER_TYPES.issuperset(map(type, values)) or all(is_number(v) for v in values)
    ):
        raise BadRequest(f"{what} values must be a list of numbers")
    check_matches_index(len(values), dimension, what)
    return finite_vector(values, what)


def sparse_values(value: object) -> SparseValues | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise BadRequest("sparseValues must be an object with indices and values")
    indices, values = value.get("indices"), value.get("values")
    if not isinstance(indices, list) or not isinstance(values, list) or len(indices) != len(values):
        raise BadRequest("sparseValues needs lists indices and values of the same length")
    return sparse_vector(indices, values, "sparseValues")


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
