"""The ``none`` and ``recursive`` strategies.

The expected recursive chunks were worked through by hand and cross-checked against Elasticsearch's
algorithm run on ICU4J 72.1 (the version PyICU here links).
"""

from __future__ import annotations

from typing import Any

import pytest

from inferhouse.chunking import Chunk, chunk_text, parse_chunking_settings

PARAGRAPHS = (
    "One two three four five six.\n\nSeven eight nine.\n\n"
    "Ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone.\n"
    "Twentytwo."
)
MARKDOWN = (
    "# Title\nIntro words here.\n## Part one\n"
    "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda.\n"
    "## Part two\nShort part.\nSetext heading\n---\nMore text after the setext heading here."
)


def spans(text: str, raw: dict[str, Any]) -> list[tuple[int, int]]:
    chunks = chunk_text(text, parse_chunking_settings(raw))
    for chunk in chunks:
        assert text[chunk.start_offset : chunk.end_offset] == chunk.text
    return [(chunk.start_offset, chunk.end_offset) for chunk in chunks]


@pytest.mark.parametrize("text", ["", "one", "A long text. " * 500, "emoji 😀 " * 3])
def test_none_keeps_the_whole_text(text: str) -> None:
    assert chunk_text(text, parse_chunking_settings({"strategy": "none"})) == [Chunk(text, 0, len(text))]


def test_recursive_fits_whole_text_in_one_chunk() -> None:
    text = "Short text.\n\nTwo paragraphs."
    assert spans(text, {"strategy": "recursive", "max_chunk_size": 10}) == [(0, len(text))]


def test_recursive_plaintext_paragraphs_then_lines_then_sentences() -> None:
    # Paragraphs 1 and 2 fit together; paragraph 3 is cut at its single line break, and its first line,
    # still too long, goes to the sentence chunker (windows of 10 words overlapping by 4).
    assert spans(
        PARAGRAPHS, {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "plaintext"}
    ) == [
        (0, 47),
        (47, 128),
        (92, 146),
        (146, 157),
    ]
    texts = [
        chunk.text
        for chunk in chunk_text(
            PARAGRAPHS, parse_chunking_settings({"strategy": "recursive", "max_chunk_size": 10})
        )
    ]
    assert texts[0] == "One two three four five six.\n\nSeven eight nine."
    assert texts[-1] == "\nTwentytwo."  # a separator opens the piece after it


def test_recursive_markdown_headings() -> None:
    got = spans(MARKDOWN, {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "markdown"})
    assert got == [(0, 25), (25, 38), (38, 94), (73, 102), (102, 126), (126, 186)]
    assert MARKDOWN[25:38] == "\n## Part one\n"


def test_recursive_custom_separators_and_merging() -> None:
    text = "a b c; d e f; g h i j k l m n o p; q"
    got = spans(text, {"strategy": "recursive", "max_chunk_size": 10, "separators": [";"]})
    # "a b c" and "; d e f" merge (3 + 3 words, plus one counted across the cut); "; q" no longer fits.
    assert got == [(0, 12), (12, 33), (33, 36)]


def test_recursive_falls_back_to_sentences_without_separators_in_the_text() -> None:
    text = " ".join(f"w{i}" for i in range(25))
    got = spans(text, {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "plaintext"})
    assert got == [(0, 29), (17, 53), (37, 77), (61, 89)]


def test_recursive_lines_end_as_in_java() -> None:
    # Java's "." stops at \r, so a setext heading underlined in a CRLF file is not a separator.
    crlf = (
        "Intro one two three four five six seven eight nine ten.\r\nHeading\r\n---\r\n"
        "Body one two three four five six seven eight nine ten."
    )
    got = spans(crlf, {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "markdown"})
    assert got == [(0, 50), (29, 71), (71, 120), (99, 125)]
    lf = crlf.replace("\r\n", "\n")
    texts = [
        chunk.text
        for chunk in chunk_text(
            lf,
            parse_chunking_settings(
                {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "markdown"}
            ),
        )
    ]
    assert "\nHeading\n---\n" in texts


def test_recursive_offsets_with_astral_characters() -> None:
    text = ("😀 " * 3 + "\U0001d49c word " * 6 + "\n\n") * 5
    chunks = chunk_text(text, parse_chunking_settings({"strategy": "recursive", "max_chunk_size": 10}))
    assert len(chunks) > 1
    for chunk in chunks:
        assert text[chunk.start_offset : chunk.end_offset] == chunk.text
    assert chunks[0].start_offset == 0
    assert chunks[-1].end_offset == len(text)


@pytest.mark.parametrize("line_end", ["\n", "\r", "\r\n", "\u2028"])
def test_recursive_anchors_see_java_line_ends(line_end: str) -> None:
    lines = [" ".join(f"{name}{i}" for i in range(8)) for name in ("a", "b", "c")]
    text = line_end.join(lines)
    got = [
        chunk.text
        for chunk in chunk_text(
            text,
            parse_chunking_settings(
                {"strategy": "recursive", "max_chunk_size": 10, "separators": ["^b", "^c"]}
            ),
        )
    ]
    assert got == [lines[0] + line_end, lines[1] + line_end, lines[2]]
