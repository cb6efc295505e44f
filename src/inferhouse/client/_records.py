"""Shapes the SDK uses for integrated indexes and inference configurations."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# The server takes at most this many records per upsert; bodies stay under its 2 MB limit.
MAX_RECORDS_PER_UPSERT = 1000
MAX_RECORDS_BYTES = 2_000_000


@dataclass(frozen=True)
class RecordHit:
    """One record found by a text search: its best chunk's text is in ``fields[text_field]``."""

    id: str
    score: float
    fields: dict[str, Any] = field(default_factory=dict)
    chunk: int = 0
    start_offset: int = 0
    end_offset: int = 0

    @classmethod
    def from_json(cls, hit: Mapping[str, Any]) -> RecordHit:
        chunk = hit.get("_chunk") or {}
        return cls(
            id=str(hit["_id"]),
            score=float(hit["_score"]),
            fields=dict(hit.get("fields") or {}),
            chunk=int(chunk.get("index", 0)),
            start_offset=int(chunk.get("start_offset", 0)),
            end_offset=int(chunk.get("end_offset", 0)),
        )


def ndjson_batches(records: Iterable[Mapping[str, Any]]) -> Iterator[bytes]:
    """NDJSON bodies of at most the server's record count and body size, records in order."""
    lines: list[bytes] = []
    used = 0
    for record in records:
        line = json.dumps(dict(record), separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()
        if lines and (len(lines) == MAX_RECORDS_PER_UPSERT or used + len(line) + 1 > MAX_RECORDS_BYTES):
            yield b"\n".join(lines)
            lines, used = [], 0
        lines.append(line)
        used += len(line) + 1
    if lines:
        yield b"\n".join(lines)
