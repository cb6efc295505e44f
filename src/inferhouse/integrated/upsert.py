"""Upserting text records: validate every record, chunk, embed the chunks, store them in one write."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from inferhouse.chunking import Chunk, ChunkingSettings, chunk_text
from inferhouse.errors import BadRequest, UpstreamMalformed
from inferhouse.inference.services import InferenceRunner
from inferhouse.integrated.binding import CHUNK, END, RECORD_ID, RESERVED_FIELDS, START, Binding
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.index import StaleFinder
from inferhouse.vectors.rows import RowBatch, VectorRow
from inferhouse.vectors.validation import check_id, metadata

MAX_RECORDS = 1000
EMBED_GROUP = 256  # chunk texts per embedding call: a few batches' worth, small enough to queue anywhere
EMBED_CONCURRENCY = 4


@dataclass(frozen=True, slots=True)
class TextRecord:
    id: str
    text: str
    fields: dict[str, Any]  # everything else the record carries; stored as each chunk's metadata


def parse_records(items: Sequence[object], text_field: str) -> list[TextRecord]:
    """Every record checked before anything is written; a later duplicate id wins, as in a loop."""
    if not items:
        raise BadRequest("No records to upsert: send one JSON object per line")
    if len(items) > MAX_RECORDS:
        raise BadRequest(f"Upsert takes at most {MAX_RECORDS} records per request, got {len(items)}")
    records: dict[str, TextRecord] = {}
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise BadRequest(f"Record {position} must be a JSON object")
        fields = dict(item)
        record_id = check_id(fields.pop("_id", fields.pop("id", None)))
        text = fields.pop(text_field, None)
        if not isinstance(text, str) or not text.strip():
            raise BadRequest(
                f"Record {record_id} must have a non-empty string in field '{text_field}', the field the "
                "index embeds"
            )
        reserved = sorted(RESERVED_FIELDS.intersection(fields))
        if reserved:
            raise BadRequest(f"Record {record_id} uses reserved field names: {', '.join(reserved)}")
        records[record_id] = TextRecord(record_id, text, metadata(fields) or {})
    return list(records.values())


def chunk_records(records: Sequence[TextRecord], chunking: ChunkingSettings) -> list[list[Chunk]]:
    chunked = []
    for record in records:
        chunks = chunk_text(record.text, chunking)
        # Text of separators only has no words to chunk; the record still needs one vector.
        chunked.append(chunks or [Chunk(record.text, 0, len(record.text))])
    return chunked


async def embed_texts(runner: InferenceRunner, texts: Sequence[str]) -> np.ndarray[Any, np.dtype[np.float32]]:
    """Embed in groups, a few at a time, so one large upsert neither floods a queue nor waits in series."""
    groups = [texts[start : start + EMBED_GROUP] for start in range(0, len(texts), EMBED_GROUP)]
    gate = asyncio.Semaphore(EMBED_CONCURRENCY)

    async def run(group: Sequence[str]) -> list[list[float]]:
        async with gate:
            vectors = await runner.embed(group)
        if len(vectors) != len(group):
            raise UpstreamMalformed(f"Expected {len(group)} embeddings, received {len(vectors)}")
        return vectors

    results = await asyncio.gather(*(run(group) for group in groups))
    rows = [vector for result in results for vector in result]
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), -1)


def chunk_batch(
    records: Sequence[TextRecord],
    chunked: Sequence[Sequence[Chunk]],
    text_field: str,
    vectors: np.ndarray[Any, Any],
) -> RowBatch:
    ids: list[str] = []
    metas: list[dict[str, Any] | None] = []
    for record, chunks in zip(records, chunked, strict=True):
        for number, chunk in enumerate(chunks):
            ids.append(chunk_id(record.id, number))
            metas.append(
                {
                    **record.fields,
                    text_field: chunk.text,
                    RECORD_ID: record.id,
                    CHUNK: number,
                    START: chunk.start_offset,
                    END: chunk.end_offset,
                }
            )
    return RowBatch(ids, vectors, [None] * len(ids), metas)


async def upsert_records(
    index: SearchIndex, namespace: str, records: Sequence[TextRecord], binding: Binding
) -> int:
    """Store ``records``; a record upserted again loses every chunk its new text does not have."""
    chunked = await asyncio.to_thread(chunk_records, records, binding.chunking)
    texts = [chunk.text for chunks in chunked for chunk in chunks]
    vectors = await embed_texts(binding.runner, texts)
    batch = chunk_batch(records, chunked, binding.text_field, vectors)
    await asyncio.to_thread(index.replace, namespace, batch, chunks_of([record.id for record in records]))
    return len(records)


async def delete_records(index: SearchIndex, namespace: str, record_ids: Sequence[str]) -> None:
    """Delete records with all their chunks."""
    empty = RowBatch([], np.empty((0, index.config.dimension), dtype=np.float32), [], [])
    await asyncio.to_thread(index.replace, namespace, empty, chunks_of(record_ids))


def chunk_id(record_id: str, number: int) -> str:
    return f"{record_id}#{number}"


def chunks_of(record_ids: Sequence[str]) -> StaleFinder:
    """The stored chunks of these records. Chunk numbers run from 0 without gaps, so probing ids in order
    finds them all without scanning the namespace (a record's own metadata confirms each one)."""

    def find(get: Callable[[str], VectorRow | None]) -> Iterator[str]:
        for record_id in record_ids:
            number = 0
            while (stored := get(chunk_id(record_id, number))) is not None and _owned_by(stored, record_id):
                yield stored.id
                number += 1

    return find


def _owned_by(stored: VectorRow, record_id: str) -> bool:
    return (stored.metadata or {}).get(RECORD_ID) == record_id
