"""The ``word`` strategy: fixed windows of words that overlap by a set number of words.

A window closes at the end of its ``size``-th word. The next one opens where the window's
``size - overlap``-th word ended, so it repeats the last ``overlap`` words and begins with whatever
separated them from the word before (whitespace goes to the start of a chunk, never its end). The
tail after the last full window is kept only if it adds words beyond the repeated ones, or if no
window closed at all (a short text, or one with no words, is a single chunk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["Window", "word_windows"]


class Window(NamedTuple):
    """A chunk in UTF-16 indices, with the words Elasticsearch counted into it."""

    start: int
    end: int
    words: int


def word_windows(word_ends: Sequence[int], length: int, size: int, overlap: int) -> list[Window]:
    """Windows over a text of ``length`` UTF-16 units whose words end at ``word_ends``."""
    if size < 1 or not 0 <= overlap <= size // 2:
        raise ValueError(f"need 0 <= overlap <= size / 2, got size {size} and overlap {overlap}")
    windows: list[Window] = []
    stride = size - overlap
    start = 0
    next_start = 0
    in_window = 0  # words in the open window, the repeated ones included
    since_mark = 0  # words since the next window's start was last marked
    for end in word_ends:
        in_window += 1
        since_mark += 1
        if in_window >= size:
            windows.append(Window(start, end, in_window))
            in_window = overlap
            if overlap == 0:
                next_start = end
            start = next_start
        if since_mark == stride:
            next_start = end
            since_mark = 0
    if in_window > overlap or not windows:
        windows.append(Window(start, length, in_window))
    return windows
