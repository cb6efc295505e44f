"""Properties every strategy keeps on arbitrary text, and agreement with the reference on random text."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from inferhouse.chunking import (
    ChunkingSettings,
    NoneChunking,
    RecursiveChunking,
    SentenceChunking,
    WordChunking,
    chunk_text,
)
from inferhouse.chunking.separators import SEPARATOR_GROUPS
from tests.unit.chunking import reference

TOKENS = [
    "the", "cat", "Dr.", "U.S.", "p.m.", "don't", "3.14", "naïve", "東京", "テスト", "😀", "👍🏽", "🇫🇷",
    "\U0001d49clpha", "end.Next", "foo-bar", "&", "#", "Title", "...", "?!", "한국어", "—",
]  # fmt: skip
SEPARATORS = [
    " ",
    " ",
    " ",
    "  ",
    "\n",
    "\n\n",
    ". ",
    "! ",
    "? ",
    "。",
    "\r\n",
    ", ",
    "\n# ",
    "\n---\n",
    "\t",
]
token_texts = st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS)), max_size=120).map(
    lambda pairs: "".join(token + separator for token, separator in pairs)
)
texts = token_texts | st.text(max_size=200)


@st.composite
def any_settings(draw: st.DrawFn) -> ChunkingSettings:
    strategy = draw(st.sampled_from(["word", "sentence", "recursive", "none"]))
    if strategy == "word":
        size = draw(st.integers(10, 40))
        return WordChunking(size, draw(st.integers(1, size // 2)))
    if strategy == "sentence":
        return SentenceChunking(draw(st.integers(20, 40)), draw(st.integers(0, 1)))
    if strategy == "recursive":
        group = draw(st.sampled_from(sorted(SEPARATOR_GROUPS)))
        return RecursiveChunking(draw(st.integers(10, 30)), SEPARATOR_GROUPS[group], group)
    return NoneChunking()


@given(texts, any_settings())
@settings(max_examples=300, deadline=None)
def test_chunks_slice_the_text_in_order_and_cover_every_word(text: str, chunking: ChunkingSettings) -> None:
    chunks = chunk_text(text, chunking)
    assert chunks
    for chunk in chunks:
        assert 0 <= chunk.start_offset <= chunk.end_offset <= len(text)
        assert text[chunk.start_offset : chunk.end_offset] == chunk.text
    starts = [chunk.start_offset for chunk in chunks]
    assert starts == sorted(starts)
    covered = [False] * len(text)
    for chunk in chunks:
        covered[chunk.start_offset : chunk.end_offset] = [True] * (chunk.end_offset - chunk.start_offset)
    for start, end in reference.word_spans(text):
        assert all(covered[start:end]), (text[start:end], start, end)


@given(texts, st.integers(10, 40), st.data())
@settings(max_examples=150, deadline=None)
def test_word_strategy_agrees_with_reference(text: str, size: int, data: st.DataObject) -> None:
    overlap = data.draw(st.integers(1, size // 2))
    expected = reference.as_python(text, [(a, b) for a, b, _ in reference.word_windows(text, size, overlap)])
    got = chunk_text(text, WordChunking(size, overlap))
    assert [(chunk.text, chunk.start_offset, chunk.end_offset) for chunk in got] == expected


@given(texts, st.integers(20, 40), st.integers(0, 1))
@settings(max_examples=150, deadline=None)
def test_sentence_strategy_agrees_with_reference(text: str, size: int, overlap: int) -> None:
    expected = reference.as_python(text, reference.sentence_chunks(text, size, overlap == 1))
    got = chunk_text(text, SentenceChunking(size, overlap))
    assert [(chunk.text, chunk.start_offset, chunk.end_offset) for chunk in got] == expected
