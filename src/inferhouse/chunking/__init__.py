"""Text chunking as Elasticsearch's inference API does it, with offsets into the original string.

Four strategies, chosen by ``chunking_settings``:

* ``sentence`` (the default: 250 words, one sentence of overlap) packs whole ICU sentences;
* ``word`` cuts fixed windows of words that overlap by a number of words;
* ``recursive`` splits on separator patterns (``plaintext`` or ``markdown`` groups, or your own);
* ``none`` keeps the text whole.

Words and sentences are ICU root-locale boundaries, counted as Elasticsearch counts them, so the
same settings give the same chunks. Offsets are Python ``str`` indices: ``chunk.text`` is always
``text[chunk.start_offset:chunk.end_offset]``, astral characters such as emoji included.

    >>> settings = parse_chunking_settings({"strategy": "word", "max_chunk_size": 10, "overlap": 5})
    >>> [chunk.text for chunk in chunk_text("one two three", settings)]
    ['one two three']
"""

from __future__ import annotations

from inferhouse.chunking.chunker import Chunk, chunk_text
from inferhouse.chunking.settings import (
    DEFAULT_CHUNKING,
    ChunkingSettings,
    ChunkingStrategyInvalid,
    NoneChunking,
    RecursiveChunking,
    SentenceChunking,
    WordChunking,
    parse_chunking_settings,
)

__all__ = [
    "DEFAULT_CHUNKING",
    "Chunk",
    "ChunkingSettings",
    "ChunkingStrategyInvalid",
    "NoneChunking",
    "RecursiveChunking",
    "SentenceChunking",
    "WordChunking",
    "chunk_text",
    "parse_chunking_settings",
]
