"""Rows of a JSONL or CSV file, in file order, each with the line it starts on."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any


class UnsupportedFormat(ValueError):
    """The file's extension names no format the reader knows."""


@dataclass(frozen=True)
class Row:
    """One data row. ``raw`` is the row as read, for the checkpoint's digest; ``error`` says why ``fields``
    could not be parsed (the row is then bad, not fatal)."""

    line: int
    raw: str
    fields: dict[str, Any]
    error: str | None = None


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with path.open(encoding="utf-8-sig") as handle:
        for line, text in enumerate(handle, start=1):
            raw = text.strip()
            if not raw:
                continue
            try:
                value = json.loads(raw)
            except ValueError as error:
                yield Row(line, raw, {}, f"invalid JSON: {error}")
                continue
            if isinstance(value, dict):
                yield Row(line, raw, value)
            else:
                yield Row(line, raw, {}, f"a JSON {type(value).__name__}, not an object")


def _csv_rows(path: Path, delimiter: str = ",") -> Iterator[Row]:
    # newline="" lets the csv module see line breaks inside quoted fields.
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        start = reader.line_num + 1
        for record in reader:
            line, start = start, reader.line_num + 1
            if not any(record):
                continue
            raw = json.dumps(record, ensure_ascii=False)
            if len(record) > len(header):
                yield Row(line, raw, {}, f"{len(record)} fields, but the header names {len(header)}")
            else:
                yield Row(line, raw, dict(zip(header, record, strict=False)))


_READERS: dict[str, Callable[[Path], Iterator[Row]]] = {
    ".jsonl": _jsonl_rows,
    ".ndjson": _jsonl_rows,
    ".csv": _csv_rows,
    ".tsv": partial(_csv_rows, delimiter="\t"),
}

SUPPORTED_SUFFIXES = tuple(_READERS)


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of ``path``, by its extension; blank lines are not rows."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedFormat(
            f"cannot read {path.name}: expected one of {', '.join(SUPPORTED_SUFFIXES)} files"
        )
    return reader(path)


def count_rows(path: Path) -> int:
    return sum(1 for _ in read_rows(path))
