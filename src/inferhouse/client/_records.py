"""Text records of integrated indexes: the hits of a search, and upserts batched to the server's limits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from inferhouse.client._transport import Transport, index_path, segment

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


class RecordsAPI(Transport):
    """Text records of integrated indexes, which the server chunks and embeds."""

    def upsert_records(self, index: str, records: Iterable[Mapping[str, Any]], namespace: str = "") -> int:
        """Upsert text records (``{"_id", <text field>, ...}``) into an integrated index; the server
        chunks and embeds them. Sent in as many requests as the limits need; returns the record count."""
        path = f"{index_path(index)}/records/namespaces/{segment(namespace) or '__default__'}/upsert"
        sent = 0
        for body in ndjson_batches(records):
            self._send("POST", path, content=body, headers={"content-type": "application/x-ndjson"})
            sent += body.count(b"\n") + 1
        return sent

    def search_records(
        self,
        index: str,
        text: str,
        *,
        top_k: int = 10,
        namespace: str = "",
        filter: Mapping[str, Any] | None = None,
        fields: Sequence[str] | None = None,
        rerank: Mapping[str, Any] | None = None,
    ) -> list[RecordHit]:
        """The records of an integrated index that best match ``text``, one hit per record."""
        query: dict[str, Any] = {"inputs": {"text": text}, "top_k": top_k}
        if filter is not None:
            query["filter"] = dict(filter)
        body: dict[str, Any] = {"query": query}
        if fields is not None:
            body["fields"] = list(fields)
        if rerank is not None:
            body["rerank"] = dict(rerank)
        path = f"{index_path(index)}/records/namespaces/{segment(namespace) or '__default__'}/search"
        reply = self._post(path, body)
        return [RecordHit.from_json(hit) for hit in reply["result"]["hits"]]
