"""From rows to what the index stores: an id, the text to embed and its metadata; or why a row is bad."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from inferhouse.ingest.reader import Row

# The server's limits, checked here so that one bad row cannot fail its whole all-or-nothing batch.
MAX_ID_LENGTH = 512
MAX_METADATA_BYTES = 40 * 1024

T = TypeVar("T")


@dataclass(frozen=True)
class Fields:
    """Which row fields hold the text and the id, and the prefix of ids made for rows without one."""

    text: str = "text"
    id: str = "id"
    id_prefix: str = "row"
    # An integrated index stores chunks of the text, not the text: then it is not metadata and a long
    # document is no reason to skip a row.
    text_is_metadata: bool = True


@dataclass(frozen=True)
class Record:
    id: str
    text: str
    metadata: dict[str, Any]

    def vector(self, values: Sequence[float]) -> dict[str, Any]:
        return {"id": self.id, "values": values, "metadata": self.metadata}

    def text_record(self, text_field: str) -> dict[str, Any]:
        """The record as an integrated index takes it: id, text and the other fields side by side."""
        return {**self.metadata, text_field: self.text, "_id": self.id}


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str


def to_record(row: Row, fields: Fields) -> Record | BadRow:
    """The record of ``row``. A row without an id field gets ``<id_prefix>-<line>``: stable across runs as
    long as the lines above it do not change, and distinct for rows with the same text."""
    if row.error is not None:
        return BadRow(row.line, row.error)
    text = row.fields.get(fields.text)
    if text is None:
        return BadRow(row.line, f"no {fields.text!r} field")
    if not isinstance(text, str):
        return BadRow(row.line, f"field {fields.text!r} is a {type(text).__name__}, not a string")
    if not text.strip():
        return BadRow(row.line, f"field {fields.text!r} is empty")
    vector_id = _row_id(row, fields)
    if isinstance(vector_id, BadRow):
        return vector_id
    metadata = _other_metadata(row.fields, fields)
    if fields.text_is_metadata:
        metadata = {fields.text: text} | metadata
    size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode())
    if size > MAX_METADATA_BYTES:
        return BadRow(row.line, f"metadata is {size} bytes, over the index's limit of {MAX_METADATA_BYTES}")
    return Record(vector_id, text, metadata)


def _row_id(row: Row, fields: Fields) -> str | BadRow:
    value = row.fields.get(fields.id)
    if value is None or value == "":
        return f"{fields.id_prefix}-{row.line}"
    if isinstance(value, bool) or not isinstance(value, str | int):
        return BadRow(row.line, f"field {fields.id!r} is a {type(value).__name__}, not a string or integer")
    vector_id = str(value)
    if len(vector_id) > MAX_ID_LENGTH:
        return BadRow(row.line, f"id is longer than {MAX_ID_LENGTH} characters")
    return vector_id


def _other_metadata(values: dict[str, Any], fields: Fields) -> dict[str, Any]:
    """The row's other fields the index can filter on; nulls, objects and mixed lists are left out."""
    return {
        key: value
        for key, value in values.items()
        if key not in (fields.text, fields.id) and _storable(value)
    }


def _storable(value: object) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, str | int | bool)


def split_batch(rows: Iterable[Row], fields: Fields) -> tuple[list[Record], list[BadRow]]:
    records: list[Record] = []
    bad: list[BadRow] = []
    for row in rows:
        result = to_record(row, fields)
        if isinstance(result, BadRow):
            bad.append(result)
        else:
            records.append(result)
    return records, bad


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Consecutive lists of ``size`` items, the last one shorter (``itertools.batched`` is 3.12+)."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
