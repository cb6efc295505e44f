"""The word and sentence strategies against the plain reference in ``reference.py``, and by hand."""

from __future__ import annotations

import pytest

from inferhouse.chunking import Chunk, ChunkingSettings, chunk_text, parse_chunking_settings
from tests.unit.chunking import reference

ABBREVIATIONS = (
    "Dr. Smith met Mr. Jones at 5 p.m. on the U.S. coast. They talked, e.g. about the weather, for "
    "3.5 hours! Was it worth it? Mrs. Brown thought so; Prof. Lee did not. The end. "
) * 4
UNICODE = (
    "Crème brûlée à la façon de Zoë. Ça coûte 5 €. 東京は日本の首都です。今日は晴れです。"
    "Emoji 😀 and 👍🏽 and flags 🇫🇷🇩🇪 sit between words. "
    "\U0001d49c\U0001d4c1\U0001d4c5\U0001d4bd\U0001d4b6 is math-script text. "
    "Straße, İstanbul, naïve café. 한국어 문장입니다. Ελληνικά κείμενα εδώ. "
) * 3
NO_PUNCTUATION = " ".join(f"word{i}" for i in range(137))
GIANT_SENTENCE = "This sentence " + " ".join(["keeps going"] * 400) + " and finally stops. Short one here."
PARAGRAPHS = (
    "Title line\n\nFirst paragraph has words. And more words.\n\nSecond 😀 paragraph\nwith a break.\n"
)
TEXTS = {
    "abbreviations": ABBREVIATIONS,
    "unicode": UNICODE,
    "no_punctuation": NO_PUNCTUATION,
    "giant_sentence": GIANT_SENTENCE,
    "paragraphs": PARAGRAPHS,
    "one_word": "hello",
    "empty": "",
    "whitespace": "   \n\t ",
    "punctuation_only": "... !!! ?? 😀 --",
}


def _chunks(spans: list[tuple[int, int]], text: str) -> list[Chunk]:
    return [Chunk(part, start, end) for part, start, end in reference.as_python(text, spans)]


def _settings(raw: dict[str, object]) -> ChunkingSettings:
    return parse_chunking_settings(raw)


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize(("size", "overlap"), [(10, 1), (10, 5), (25, 3), (25, 12), (300, 150)])
def test_word_strategy_matches_reference(name: str, size: int, overlap: int) -> None:
    text = TEXTS[name]
    settings = _settings({"strategy": "word", "max_chunk_size": size, "overlap": overlap})
    spans = [(start, end) for start, end, _ in reference.word_windows(text, size, overlap)]
    assert chunk_text(text, settings) == _chunks(spans, text)


@pytest.mark.parametrize("name", TEXTS)
@pytest.mark.parametrize(("size", "overlap"), [(20, 0), (20, 1), (33, 0), (33, 1), (250, 1)])
def test_sentence_strategy_matches_reference(name: str, size: int, overlap: int) -> None:
    text = TEXTS[name]
    settings = _settings({"strategy": "sentence", "max_chunk_size": size, "sentence_overlap": overlap})
    spans = reference.sentence_chunks(text, size, overlap == 1)
    assert chunk_text(text, settings) == _chunks(spans, text)


def test_word_windows_by_hand() -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    chunks = chunk_text(text, _settings({"strategy": "word", "max_chunk_size": 10, "overlap": 5}))
    # The second window repeats five words and starts with the space after "five".
    assert [chunk.text for chunk in chunks] == [
        "one two three four five six seven eight nine ten",
        " six seven eight nine ten eleven twelve",
    ]
    # A tail holding only the repeated words is dropped.
    exact = chunk_text(
        " ".join(text.split()[:10]), _settings({"strategy": "word", "max_chunk_size": 10, "overlap": 5})
    )
    assert [chunk.text for chunk in exact] == ["one two three four five six seven eight nine ten"]


def test_sentences_by_hand() -> None:
    text = (
        "One two three four five six seven eight nine ten. "
        "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty. "
        "Last few words here."
    )
    no_overlap = chunk_text(
        text, _settings({"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0})
    )
    assert [chunk.text for chunk in no_overlap] == [
        "One two three four five six seven eight nine ten. "
        "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty. ",
        "Last few words here.",
    ]
    with_previous = chunk_text(
        text, _settings({"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 1})
    )
    assert [chunk.text for chunk in with_previous] == [
        no_overlap[0].text,
        "Eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty. "
        "Last few words here.",
    ]


def test_abbreviations_split_where_icu_root_splits() -> None:
    # The root locale has no abbreviation list: "Dr. " ends a sentence, "p.m. on" and "U.S. coast" do not.
    text = "Dr. Smith met Mr. Jones at 5 p.m. on the U.S. coast."
    chunks = chunk_text(
        text, _settings({"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0})
    )
    assert [chunk.text for chunk in chunks] == [text]
    assert reference.sentence_chunks(text, 2, False)[0] == (0, 4)  # "Dr. " alone, as ICU splits it


def test_giant_sentence_is_split_into_word_windows() -> None:
    settings = _settings({"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 1})
    chunks = chunk_text(GIANT_SENTENCE, settings)
    assert len(chunks) > 40
    first_words = chunks[0].text.split()
    assert len(first_words) == 20
    # Windows inside the sentence overlap by min(20, (20 - 1) // 2) = 9 words.
    assert chunks[1].text.split()[:9] == first_words[-9:]


def test_offsets_slice_the_original_with_astral_characters() -> None:
    text = "😀 one \U0001d49c\U0001d4c1\U0001d4c5\U0001d4bd\U0001d4b6 two 🇫🇷 three. " * 20
    for raw in (
        {"strategy": "word", "max_chunk_size": 10, "overlap": 2},
        {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 1},
    ):
        chunks = chunk_text(text, _settings(raw))
        assert len(chunks) > 1
        for chunk in chunks:
            assert text[chunk.start_offset : chunk.end_offset] == chunk.text


@pytest.mark.parametrize(
    "raw",
    [
        {"strategy": "word", "max_chunk_size": 10, "overlap": 1},
        {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
        {"strategy": "none"},
        {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "plaintext"},
    ],
)
@pytest.mark.parametrize("text", ["", "   ", "\n\n", "?!"])
def test_text_without_words_is_one_whole_chunk(raw: dict[str, object], text: str) -> None:
    assert chunk_text(text, _settings(raw)) == [Chunk(text, 0, len(text))]


def test_default_settings_chunk_by_sentences_of_250_words() -> None:
    text = " ".join(f"Sentence number {i} has exactly seven words." for i in range(100))
    chunks = chunk_text(text, parse_chunking_settings(None))
    expected = reference.sentence_chunks(text, 250, True)
    assert [(chunk.start_offset, chunk.end_offset) for chunk in chunks] == expected
    assert len(chunks) == 3
