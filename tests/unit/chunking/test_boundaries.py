"""UTF-16 offset conversion and Elasticsearch's word counting, against ICU walked directly."""

from __future__ import annotations

import icu
from hypothesis import given, settings
from hypothesis import strategies as st

from inferhouse.chunking.boundaries import TextBoundaries, Utf16Offsets
from tests.unit.chunking import reference

TOKENS = [
    "word",
    "é",
    "日本",
    "😀",
    "\U0001d49c",
    " ",
    "  ",
    ".",
    ". ",
    "\n",
    "don't",
    "3.14",
    "🇫🇷",
    "Dr.",
    "?",
]
texts = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join) | st.text(max_size=60)


@given(texts)
@settings(max_examples=150, deadline=None)
def test_utf16_offsets_round_trip(text: str) -> None:
    offsets = Utf16Offsets(text)
    assert offsets.length == reference.utf16_length(text)
    for index in range(len(text) + 1):
        unit = offsets.to_units(index)
        assert unit == reference.utf16_length(text[:index])
        assert offsets.to_code_points(unit) == index


@given(texts, st.data())
@settings(max_examples=150, deadline=None)
def test_count_and_skip_words_walk_like_icu(text: str, data: st.DataObject) -> None:
    boundaries = TextBoundaries(text)
    iterator = icu.BreakIterator.createWordInstance(reference.ROOT)
    iterator.setText(icu.UnicodeString(text))
    # Elasticsearch asks at boundaries it found itself (sentences, regex matches): any code point start.
    starts = [boundaries.offsets.to_units(index) for index in range(len(text) + 1)]
    start = data.draw(st.sampled_from(starts))
    end = data.draw(st.sampled_from([unit for unit in starts if unit >= start]))
    if start < end:
        assert boundaries.count_words(start, end) == reference.count_words(iterator, start, end)
    words = data.draw(st.integers(0, 12))
    assert boundaries.skip_words(start, words) == reference.skip_words(text, start, words)


def test_a_word_just_before_the_start_is_counted_as_elasticsearch_does() -> None:
    text = "Hello\nWorld"
    boundaries = TextBoundaries(text)
    assert boundaries.count_words(0, 6) == 1
    # "World" starts a sentence at 6; counting from the boundary before 6 also takes in "Hello".
    assert boundaries.count_words(6, 11) == 2


def test_emoji_and_punctuation_are_not_words() -> None:
    boundaries = TextBoundaries("foo != bar 😀 m&s")
    assert len(boundaries.word_ends) == 4  # foo, bar, m, s


def test_sentences_in_utf16_units() -> None:
    text = "😀 First. Second one."
    boundaries = TextBoundaries(text)
    assert boundaries.sentence_ends == [10, 21]
    assert boundaries.offsets.to_code_points(10) == text.index("Second")
