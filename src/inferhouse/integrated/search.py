"""Searching text records: embed the query, find chunks, keep each record's best chunk, maybe rerank."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from inferhouse.inference.services import InferenceRunner
from inferhouse.integrated.binding import (
    CHUNK,
    END,
    RECORD_ID,
    RESERVED_FIELDS,
    START,
    Binding,
    embed_counted,
)
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.index import Match


@dataclass
class RecordHit:
    record_id: str
    score: float
    fields: dict[str, Any]  # the record's fields, its text field holding the best chunk's text
    chunk: int
    start_offset: int
    end_offset: int
    rerank_score: float | None = field(default=None)


@dataclass(frozen=True)
class Rerank:
    runner: InferenceRunner
    rank_field: str
    top_n: int
    query: str


@dataclass(frozen=True)
class RecordSearch:
    hits: list[RecordHit]
    embed_tokens: int | None  # what embedding the query read, where the model reports it


def best_per_record(matches: Sequence[Match]) -> list[RecordHit]:
    """Matches arrive best first; the first chunk seen of each record is its best."""
    hits: dict[str, RecordHit] = {}
    for match in matches:
        meta = match.record.metadata or {}
        record_id = str(meta.get(RECORD_ID, match.record.id))
        if record_id in hits:
            continue
        fields = {key: value for key, value in meta.items() if key not in RESERVED_FIELDS}
        hits[record_id] = RecordHit(
            record_id,
            match.score,
            fields,
            int(meta.get(CHUNK, 0)),
            int(meta.get(START, 0)),
            int(meta.get(END, 0)),
        )
    return list(hits.values())


def search_chunks(
    index: SearchIndex, namespace: str, vector: np.ndarray[Any, Any], top_k: int, predicate: Predicate | None
) -> list[RecordHit]:
    """Ask for more chunks until ``top_k`` distinct records are found or the namespace runs out."""
    size = index.size(namespace)  # every search asks: one lookup, not a count of every namespace
    want = min(size, top_k * 4)
    while True:
        matches = index.query(namespace, vector, max(want, 1), predicate)
        hits = best_per_record(matches)
        if len(hits) >= top_k or len(matches) < want or want >= size:
            return hits[:top_k]
        want = min(size, want * 4)


async def search_records(
    index: SearchIndex,
    namespace: str,
    binding: Binding,
    text: str,
    top_k: int,
    predicate: Predicate | None,
    rerank: Rerank | None = None,
) -> RecordSearch:
    vectors, tokens = await embed_counted(binding.runner, [text])
    vector = np.asarray(vectors[0], dtype=np.float32)
    hits = await asyncio.to_thread(search_chunks, index, namespace, vector, top_k, predicate)
    if rerank is None or not hits:
        return RecordSearch(hits, tokens)
    documents = [str(hit.fields.get(rerank.rank_field, "")) for hit in hits]
    ranked = await rerank.runner.rerank(rerank.query, documents, top_n=rerank.top_n)
    reordered = []
    for item in ranked[: rerank.top_n]:
        hit = hits[item.index]
        hit.rerank_score = item.score
        reordered.append(hit)
    return RecordSearch(reordered, tokens)
