"""The ``recursive`` strategy: split on separator patterns, coarse to fine, until pieces fit.

A piece within ``max_words`` is a chunk as it is. Otherwise it is cut before every match of the
current separator (a separator opens the piece after it), neighbouring cuts are joined again while
their combined word count fits, and each joined piece that still does not fit is treated the same
way with the next separator. A piece too long after the last separator goes to the sentence
strategy without overlap.

Patterns see one piece at a time: ``^`` and lookbehinds stop at the piece's start, ``$`` and
lookaheads at its end, as Elasticsearch's matcher regions do.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from inferhouse.chunking.boundaries import TextBoundaries
from inferhouse.chunking.sentences import sentence_chunks
from inferhouse.chunking.separators import compile_separator

__all__ = ["recursive_chunks"]


class _Piece(NamedTuple):
    start: int  # UTF-16 indices
    end: int
    words: int


def recursive_chunks(
    text: TextBoundaries, separators: Sequence[str], max_words: int
) -> list[tuple[int, int]]:
    """Chunks of ``text`` as ``(start, end)`` UTF-16 indices."""
    chunks: list[tuple[int, int]] = []
    _chunk(text, 0, text.length, separators, max_words, 0, chunks)
    return chunks


def _chunk(
    text: TextBoundaries,
    start: int,
    end: int,
    separators: Sequence[str],
    max_words: int,
    level: int,
    chunks: list[tuple[int, int]],
) -> None:
    if start == end or text.count_words(start, end) <= max_words:
        chunks.append((start, end))
        return
    if level >= len(separators):
        rest = text.substring(start, end)
        chunks.extend((start + a, start + b) for a, b in sentence_chunks(rest, max_words, False))
        return
    for piece in _merge(_split(text, start, end, separators[level]), max_words):
        if piece.words <= max_words:
            chunks.append((piece.start, piece.end))
        else:
            _chunk(text, piece.start, piece.end, separators, max_words, level + 1, chunks)


def _split(text: TextBoundaries, start: int, end: int, separator: str) -> list[_Piece]:
    """``text[start:end]`` cut before each match of ``separator``."""
    offsets = text.offsets
    first = offsets.to_code_points(start)
    region = text.text[first : offsets.to_code_points(end)]
    pieces: list[_Piece] = []
    piece_start = start
    for match in compile_separator(separator).finditer(region):
        cut = offsets.to_units(first + match.start())
        if piece_start < cut:
            pieces.append(_Piece(piece_start, cut, text.count_words(piece_start, cut)))
        piece_start = cut
    if piece_start < end:
        pieces.append(_Piece(piece_start, end, text.count_words(piece_start, end)))
    return pieces


def _merge(pieces: list[_Piece], max_words: int) -> list[_Piece]:
    """Join neighbours while the sum of their word counts stays within ``max_words``."""
    if len(pieces) < 2:
        return pieces
    merged: list[_Piece] = []
    current = pieces[0]
    for piece in pieces[1:]:
        if current.words + piece.words <= max_words:
            current = _Piece(current.start, piece.end, current.words + piece.words)
        else:
            merged.append(current)
            current = piece
    merged.append(current)
    return merged
