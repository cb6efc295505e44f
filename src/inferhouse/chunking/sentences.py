"""The ``sentence`` strategy: whole sentences packed greedily up to a number of words.

Sentences are added to the open chunk while its word count stays within ``max_words``; the sentence
that would overflow it starts the next chunk. With ``overlap_previous`` the next chunk also starts
with the sentence before that one, trimmed to its last ``min(max_words // 2, 20)`` words when the two
would not fit together. A sentence (with its overlap) that alone exceeds ``max_words`` is cut into
word windows overlapping by ``min(20, (max_words - 1) // 2)`` words; its last, partly filled window
stays open for the sentences that follow.

A text that yields no chunk (empty, or without a single word) comes back whole, as one chunk.
"""

from __future__ import annotations

from inferhouse.chunking.boundaries import TextBoundaries
from inferhouse.chunking.words import word_windows

__all__ = ["sentence_chunks"]

_MAX_OVERLAP_WORDS = 20


def sentence_chunks(text: TextBoundaries, max_words: int, overlap_previous: bool) -> list[tuple[int, int]]:
    """Chunks of ``text`` as ``(start, end)`` UTF-16 indices."""
    chunks: list[tuple[int, int]] = []
    chunk_start = 0
    chunk_end = 0  # where the last sentence taken into the open chunk ends
    chunk_words = 0
    sentence_start = 0
    previous_start = 0
    previous_words = 0
    for sentence_end in text.sentence_ends:
        words = text.count_words(sentence_start, sentence_end)
        if chunk_words + words <= max_words:
            chunk_words += words
        else:
            if chunk_words > 0:
                chunks.append((chunk_start, chunk_end))
                if not overlap_previous:
                    chunk_start, chunk_words = chunk_end, words
                elif previous_words + words <= max_words:
                    chunk_start, chunk_words = previous_start, previous_words + words
                else:
                    skipped = max(previous_words - min(max_words // 2, _MAX_OVERLAP_WORDS), 0)
                    chunk_start = text.skip_words(previous_start, skipped)
                    chunk_words = previous_words - skipped + words
            else:
                chunk_words = words
            if chunk_words > max_words:
                chunk_start, chunk_words = _split_long(text, chunk_start, sentence_end, max_words, chunks)
        if overlap_previous:
            previous_start, previous_words = sentence_start, words
        sentence_start = chunk_end = sentence_end
    if chunk_words > 0:
        chunks.append((chunk_start, text.length))
    if not chunks:
        chunks.append((0, text.length))
    return chunks


def _split_long(
    text: TextBoundaries, start: int, end: int, max_words: int, chunks: list[tuple[int, int]]
) -> tuple[int, int]:
    """Close word windows of ``text[start:end]`` into ``chunks``; return the start and word count of the
    last window, which is left open."""
    piece = text.substring(start, end)
    overlap = min(_MAX_OVERLAP_WORDS, (max_words - 1) // 2)
    windows = word_windows(piece.word_ends, piece.length, max_words, overlap)
    chunks.extend((start + window.start, start + window.end) for window in windows[:-1])
    return start + windows[-1].start, windows[-1].words
