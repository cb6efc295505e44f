"""A plain, slow reference of Elasticsearch's word and sentence chunking rules, for the tests.

It walks ICU break iterators directly (``preceding``/``next``, as Elasticsearch does) on a UTF-16
string and converts offsets by re-encoding prefixes, sharing nothing with ``inferhouse.chunking``
beyond the rules themselves.
"""

from __future__ import annotations

import icu

ROOT = icu.Locale.getRoot()
DONE = icu.BreakIterator.DONE


def is_word(iterator: icu.BreakIterator) -> bool:
    return not 0 <= iterator.getRuleStatus() < 100


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def to_python_index(text: str, unit: int) -> int:
    return len(text.encode("utf-16-le")[: 2 * unit].decode("utf-16-le"))


def slice_units(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def word_windows(text: str, size: int, overlap: int) -> list[tuple[int, int, int]]:
    """(start, end, words) in UTF-16 units."""
    iterator = icu.BreakIterator.createWordInstance(ROOT)
    iterator.setText(icu.UnicodeString(text))
    windows: list[tuple[int, int, int]] = []
    count = since = start = marked = 0
    boundary = iterator.nextBoundary()
    while boundary != DONE:
        if is_word(iterator):
            count += 1
            since += 1
            if count >= size:
                windows.append((start, boundary, count))
                count = overlap
                if overlap == 0:
                    marked = boundary
                start = marked
            if since == size - overlap:
                marked = boundary
                since = 0
        boundary = iterator.nextBoundary()
    if count > overlap or not windows:
        windows.append((start, utf16_length(text), count))
    return windows


def count_words(iterator: icu.BreakIterator, start: int, end: int) -> int:
    iterator.preceding(start)
    boundary = iterator.current()
    words = 0
    while boundary != DONE and boundary <= end:
        if is_word(iterator):
            words += 1
        boundary = iterator.nextBoundary()
    return words


def skip_words(text: str, start: int, words: int) -> int:
    iterator = icu.BreakIterator.createWordInstance(ROOT)
    iterator.setText(icu.UnicodeString(text))
    iterator.preceding(start)
    boundary = iterator.current()
    seen = 0
    while boundary != DONE and seen < words:
        if is_word(iterator):
            seen += 1
        boundary = iterator.nextBoundary()
    return int(iterator.last()) if boundary == DONE else boundary


def sentence_chunks(text: str, most: int, with_previous: bool) -> list[tuple[int, int]]:
    """(start, end) in UTF-16 units."""
    unicode = icu.UnicodeString(text)
    sentences = icu.BreakIterator.createSentenceInstance(ROOT)
    sentences.setText(unicode)
    words = icu.BreakIterator.createWordInstance(ROOT)
    words.setText(unicode)
    chunks: list[tuple[int, int]] = []
    start = end = sentence_start = in_chunk = 0
    previous_start = previous_words = 0
    boundary = sentences.nextBoundary()
    while boundary != DONE:
        sentence_end = boundary
        in_sentence = count_words(words, sentence_start, sentence_end)
        if in_chunk + in_sentence > most:
            next_count = in_sentence
            if in_chunk > 0:
                chunks.append((start, end))
                if with_previous:
                    if previous_words + in_sentence > most:
                        keep = min(most // 2, 20)
                        skip = previous_words - keep if previous_words > keep else 0
                        start = skip_words(text, previous_start, skip)
                        in_chunk = previous_words - skip + in_sentence
                    else:
                        in_chunk = previous_words + in_sentence
                        start = previous_start
                    next_count = in_chunk
                else:
                    start = end
                    in_chunk = in_sentence
            if next_count > most:
                piece = slice_units(text, start, sentence_end)
                splits = word_windows(piece, most, min(20, (most - 1) // 2))
                chunks.extend((start + a, start + b) for a, b, _ in splits[:-1])
                start += splits[-1][0]
                in_chunk = splits[-1][2]
        else:
            in_chunk += in_sentence
        if with_previous:
            previous_start = sentence_start
            previous_words = in_sentence
        sentence_start = end = sentence_end
        boundary = sentences.nextBoundary()
    if in_chunk > 0:
        chunks.append((start, utf16_length(text)))
    if not chunks:
        chunks.append((0, utf16_length(text)))
    return chunks


def as_python(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, int, int]]:
    """(text, start, end) with Python string offsets."""
    out = []
    for start, end in spans:
        first, last = to_python_index(text, start), to_python_index(text, end)
        out.append((text[first:last], first, last))
    return out


def word_spans(text: str) -> list[tuple[int, int]]:
    """Each ICU word of ``text`` as Python (start, end) offsets."""
    iterator = icu.BreakIterator.createWordInstance(ROOT)
    iterator.setText(icu.UnicodeString(text))
    spans = []
    previous = 0
    boundary = iterator.nextBoundary()
    while boundary != DONE:
        if is_word(iterator):
            spans.append((to_python_index(text, previous), to_python_index(text, boundary)))
        previous = boundary
        boundary = iterator.nextBoundary()
    return spans
