"""ICU word and sentence boundaries of one text, and the word arithmetic the chunkers do on them.

Elasticsearch runs ICU4J's root-locale break iterators over Java strings, so every position it works
with is a UTF-16 index. The chunkers here work in the same units, which keeps each of their decisions
identical, and :class:`Utf16Offsets` turns the final offsets into Python string (code point) indices.

All boundaries are read from ICU once, into lists; counting words between two positions is then a
pair of binary searches instead of another walk of the iterator, so chunking stays linear in the
text however it moves back and forth.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cached_property

import icu

__all__ = ["TextBoundaries", "Utf16Offsets", "is_word_status"]

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def is_word_status(status: int) -> bool:
    """Whether an ICU word-break rule status marks a word (letters, numbers, kana, ideographs).

    Spaces, punctuation and most symbols and emoji end with a status in ``[0, 100)`` (UBRK_WORD_NONE).
    """
    return not 0 <= status < 100


class Utf16Offsets:
    """Converts between UTF-16 indices and code point indices of one text.

    Only characters outside the Basic Multilingual Plane take two UTF-16 units, so a text without any
    converts for free; otherwise each conversion is one binary search over their positions.
    """

    __slots__ = ("_astral_code_points", "_astral_units", "length")

    def __init__(self, text: str) -> None:
        self._astral_code_points = [match.start() for match in _ASTRAL.finditer(text)]
        # Where each astral character starts in UTF-16: one extra unit for every one before it.
        self._astral_units = [index + before for before, index in enumerate(self._astral_code_points)]
        self.length = len(text) + len(self._astral_code_points)

    def to_code_points(self, unit: int) -> int:
        """The code point index of a UTF-16 index (which must not split a surrogate pair)."""
        if not self._astral_units:
            return unit
        return unit - bisect_left(self._astral_units, unit)

    def to_units(self, code_point: int) -> int:
        """The UTF-16 index of a code point index."""
        if not self._astral_code_points:
            return code_point
        return code_point + bisect_left(self._astral_code_points, code_point)


def _word_iterator() -> icu.BreakIterator:
    # Cheap (a clone of ICU's cached rules); a fresh one per text keeps threads from sharing one.
    return icu.BreakIterator.createWordInstance(icu.Locale.getRoot())


def _sentence_iterator() -> icu.BreakIterator:
    return icu.BreakIterator.createSentenceInstance(icu.Locale.getRoot())


class TextBoundaries:
    """The word boundaries of a text (UTF-16 indices), which of them end a word, and its sentences."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offsets = Utf16Offsets(text)
        self.length = self.offsets.length
        self._icu_text = icu.UnicodeString(text)
        iterator = _word_iterator()
        iterator.setText(self._icu_text)
        # Every boundary from 0 on, and how many word ends there are up to and including each one;
        # position 0 never ends a word.
        bounds = [0]
        words_through = [0]
        word_ends: list[int] = []
        for boundary in iterator:
            bounds.append(boundary)
            if is_word_status(iterator.getRuleStatus()):
                word_ends.append(boundary)
            words_through.append(len(word_ends))
        self.bounds = bounds
        self.word_ends = word_ends
        self._words_through = words_through

    @cached_property
    def sentence_ends(self) -> list[int]:
        """Where each sentence ends (the first starts at 0), in UTF-16 indices."""
        iterator = _sentence_iterator()
        iterator.setText(self._icu_text)
        return list(iterator)

    def substring(self, start: int, end: int) -> TextBoundaries:
        """The boundaries of ``text[start:end]`` (UTF-16 indices) analysed on its own, as Elasticsearch
        does when it hands a piece of text to another chunker."""
        to_code_points = self.offsets.to_code_points
        return TextBoundaries(self.text[to_code_points(start) : to_code_points(end)])

    def _before(self, position: int) -> int:
        """The index in ``bounds`` of the last boundary before ``position`` (0 at the very start)."""
        return max(bisect_left(self.bounds, position) - 1, 0)

    def count_words(self, start: int, end: int) -> int:
        """Words Elasticsearch counts between ``start`` and ``end``.

        Like ICU's ``preceding(start)`` followed by ``next()`` up to ``end``, the count begins at the
        boundary before ``start``: a word that ends right there (with only a separator between it and
        ``start``) is counted too, as it is in Elasticsearch.
        """
        first = self._before(start)
        last = bisect_right(self.bounds, end) - 1
        already = self._words_through[first - 1] if first > 0 else 0
        return self._words_through[last] - already

    def skip_words(self, start: int, count: int) -> int:
        """Where ``count`` words after the boundary before ``start`` have been passed, together with the
        segment that follows the last of them; the text end when there are not that many."""
        first = self._before(start)
        if count <= 0:
            return self.bounds[first]
        already = self._words_through[first - 1] if first > 0 else 0
        reached = bisect_left(self._words_through, already + count, lo=first)
        if reached + 1 >= len(self.bounds):
            return self.length
        return self.bounds[reached + 1]
