"""Arrow rows of Pinecone's import layout into a :class:`RowBatch`, column by column.

The dense vectors of a batch become one float32 matrix with a few array operations (no Python per
vector); ids come out of Arrow as one list. Only metadata and sparse values, where present, are read
per row, as they must be checked one by one. A row that breaks a rule (wrong dimension, a bad id,
metadata that is not a JSON object, ...) is set aside with its reason; the rest form the batch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from inferhouse.errors import BadRequest
from inferhouse.vectors.rows import Metadata, RowBatch, SparseValues
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.validation import MAX_ID_LENGTH, MAX_METADATA_BYTES, metadata, sparse_vector


@dataclass(frozen=True, slots=True)
class Converted:
    """One Arrow batch read: the good rows, where each stood in the batch, and the bad ones' reasons."""

    rows: RowBatch
    positions: npt.NDArray[np.int64]  # batch position of each good row, ascending
    bad: list[tuple[int, str]]  # (batch position, reason), ascending

    def before(self, position: int) -> RowBatch:
        """The good rows that stood before ``position``: what an import that stops there writes."""
        keep = int(np.searchsorted(self.positions, position))
        batch = self.rows
        return RowBatch(batch.ids[:keep], batch.values[:keep], batch.sparse[:keep], batch.metadata[:keep])


def convert(batch: pa.RecordBatch, dimension: int, metric: Metric) -> Converted:
    count = batch.num_rows
    reasons: dict[int, str] = {}
    ids = batch.column("id")
    lengths = pc.utf8_length(ids).to_numpy(zero_copy_only=False)
    id_ok = ~pc.is_null(ids).to_numpy(zero_copy_only=False) & _between(lengths, 1, MAX_ID_LENGTH)
    for bad_id in np.flatnonzero(~id_ok):
        reasons[int(bad_id)] = f"id must be a string of 1 to {MAX_ID_LENGTH} characters"
    matrix, dense_ok = _dense(batch.column("values"), dimension, reasons)
    keep = id_ok & dense_ok
    sparse = _sparse(batch, metric, keep, reasons)
    meta = _metadata(batch, keep, reasons)
    for position in reasons:
        keep[position] = False
    kept = np.flatnonzero(keep)
    id_list: list[str] = ids.to_pylist()
    if len(kept) == count:
        rows = RowBatch(id_list, matrix, sparse, meta)
    else:
        chosen = kept.tolist()
        rows = RowBatch(
            [id_list[at] for at in chosen],
            matrix[kept],
            [sparse[at] for at in chosen],
            [meta[at] for at in chosen],
        )
    return Converted(rows, kept.astype(np.int64), sorted(reasons.items()))


def _between(values: npt.NDArray[Any], low: int, high: int) -> npt.NDArray[np.bool_]:
    with np.errstate(invalid="ignore"):  # nulls read as NaN
        return np.asarray((values >= low) & (values <= high), dtype=bool)


def _dense(
    column: pa.Array | pa.ChunkedArray, dimension: int, reasons: dict[int, str]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.bool_]]:
    """The vectors as an n x dimension matrix (rows that are not one are zeros) and which rows are."""
    count = len(column)
    lengths = pc.list_value_length(column).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(column)  # the values of the non-null lists, back to back
    with np.errstate(over="ignore"):  # a float64 beyond float32's range becomes inf, refused below
        numbers = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float32)  # nulls are NaN
    present = np.maximum(lengths, 0)
    starts = np.concatenate([[0], np.cumsum(present)[:-1]])
    fits = lengths == dimension
    if fits.all():
        matrix = numbers.reshape(count, dimension)
    else:
        matrix = np.zeros((count, dimension), dtype=np.float32)
        rows = np.flatnonzero(fits)
        matrix[rows] = numbers[starts[rows, None] + np.arange(dimension)]
    finite = np.isfinite(matrix).all(axis=1)
    for position in np.flatnonzero(~fits):
        length = int(lengths[position])
        reasons.setdefault(
            int(position),
            "values are missing"
            if length < 0
            else f"vector dimension {length} does not match the dimension of the index {dimension}",
        )
    for position in np.flatnonzero(fits & ~finite):
        reasons.setdefault(int(position), "values must be finite 32-bit floats (no NaN, null or infinity)")
    return matrix, fits & finite


def _sparse(
    batch: pa.RecordBatch, metric: Metric, keep: npt.NDArray[np.bool_], reasons: dict[int, str]
) -> list[SparseValues | None]:
    found: list[SparseValues | None] = [None] * batch.num_rows
    if batch.schema.get_field_index("sparse_values") < 0:
        return found
    column = batch.column("sparse_values")
    present = np.flatnonzero(~pc.is_null(column).to_numpy(zero_copy_only=False) & keep)
    if not len(present):
        return found
    items = column.take(pa.array(present)).to_pylist()
    for position, item in zip(present.tolist(), items, strict=True):
        indices, values = item.get("indices"), item.get("values")
        if indices is None and values is None:
            continue
        if metric != Metric.DOTPRODUCT:
            reasons.setdefault(position, "sparse values are allowed only in a dotproduct index")
            continue
        if indices is None or values is None or len(indices) != len(values):
            reasons.setdefault(position, "sparse indices and values must be lists of the same length")
            continue
        try:
            found[position] = sparse_vector(indices, values, "Sparse")
        except BadRequest as error:
            reasons.setdefault(position, error.message)
    return found


def _metadata(
    batch: pa.RecordBatch, keep: npt.NDArray[np.bool_], reasons: dict[int, str]
) -> list[Metadata | None]:
    found: list[Metadata | None] = [None] * batch.num_rows
    if batch.schema.get_field_index("metadata") < 0:
        return found
    column = batch.column("metadata")
    present = np.flatnonzero(~pc.is_null(column).to_numpy(zero_copy_only=False) & keep)
    texts = column.take(pa.array(present)).to_pylist() if len(present) else []
    for position, text in zip(present.tolist(), texts, strict=True):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            reasons.setdefault(position, "metadata is not valid JSON")
            continue
        if len(text) <= _QUICK_BYTES and _plain(parsed):
            found[position] = parsed or None  # what metadata() would return, without its per-value work
            continue
        try:
            found[position] = metadata(parsed) or None
        except BadRequest as error:
            reasons.setdefault(position, error.message)
    return found


# Metadata this short is within the size limit however it is re-encoded (a number can grow: 1e5).
_QUICK_BYTES = MAX_METADATA_BYTES // 4
_SCALARS = (str, bool, int)


def _plain(value: object) -> bool:
    """A flat object of strings, booleans, integers and finite floats: valid metadata at a glance."""
    if type(value) is not dict:
        return False
    for item in value.values():
        kind = type(item)
        if kind in _SCALARS or (kind is float and math.isfinite(item)):
            continue
        if kind is list and all(type(element) is str for element in item):
            continue
        return False
    return True
