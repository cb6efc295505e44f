"""``chunk_text``: run the chunker a settings object names and give chunks with Python string offsets."""

from __future__ import annotations

from dataclasses import dataclass

from inferhouse.chunking.boundaries import TextBoundaries
from inferhouse.chunking.recursive import recursive_chunks
from inferhouse.chunking.sentences import sentence_chunks
from inferhouse.chunking.settings import (
    ChunkingSettings,
    NoneChunking,
    RecursiveChunking,
    SentenceChunking,
    WordChunking,
)
from inferhouse.chunking.words import word_windows

__all__ = ["Chunk", "chunk_text"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of a text: ``text == original[start_offset:end_offset]`` (code point indices)."""

    text: str
    start_offset: int
    end_offset: int


def chunk_text(text: str, settings: ChunkingSettings) -> list[Chunk]:
    """Split ``text`` as Elasticsearch's chunker for ``settings`` does; always at least one chunk.

    Chunks follow the text in order and together cover all its words; with overlap, neighbours share
    some. Text without words (empty or only spaces and punctuation) is one chunk, the whole of it.
    """
    if isinstance(settings, NoneChunking):
        return [Chunk(text, 0, len(text))]
    boundaries = TextBoundaries(text)
    if isinstance(settings, WordChunking):
        windows = word_windows(
            boundaries.word_ends, boundaries.length, settings.max_chunk_size, settings.overlap
        )
        spans = [(window.start, window.end) for window in windows]
    elif isinstance(settings, SentenceChunking):
        spans = sentence_chunks(boundaries, settings.max_chunk_size, settings.sentence_overlap > 0)
    elif isinstance(settings, RecursiveChunking):
        spans = recursive_chunks(boundaries, settings.separators, settings.max_chunk_size)
    else:  # pragma: no cover - the union is closed; this guards callers that bypass the types
        raise TypeError(f"not chunking settings: {settings!r}")
    to_code_points = boundaries.offsets.to_code_points
    chunks = []
    for start, end in spans:
        first, last = to_code_points(start), to_code_points(end)
        chunks.append(Chunk(text[first:last], first, last))
    return chunks
