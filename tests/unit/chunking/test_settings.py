"""Parsing ``chunking_settings``: results, ``as_dict``, and every validation sentence verbatim."""

from __future__ import annotations

import re
from typing import Any

import pytest

from inferhouse.chunking import (
    DEFAULT_CHUNKING,
    ChunkingStrategyInvalid,
    NoneChunking,
    RecursiveChunking,
    SentenceChunking,
    WordChunking,
    parse_chunking_settings,
)
from inferhouse.chunking._java import hashmap_order, java_double, java_regex, java_str
from inferhouse.chunking.separators import SEPARATOR_GROUPS
from inferhouse.errors import SettingsInvalid

PLAINTEXT = list(SEPARATOR_GROUPS["plaintext"])


def problems(raw: dict[str, Any]) -> list[str]:
    with pytest.raises(SettingsInvalid) as caught:
        parse_chunking_settings(raw)
    return caught.value.problems


def test_missing_or_empty_settings_are_the_default() -> None:
    assert parse_chunking_settings(None) is DEFAULT_CHUNKING
    assert parse_chunking_settings({}) is DEFAULT_CHUNKING
    assert SentenceChunking(250, 1) == DEFAULT_CHUNKING
    assert DEFAULT_CHUNKING.as_dict() == {
        "strategy": "sentence",
        "max_chunk_size": 250,
        "sentence_overlap": 1,
    }


@pytest.mark.parametrize(
    ("raw", "expected", "as_dict"),
    [
        (
            {"strategy": "word", "max_chunk_size": 10, "overlap": 5},
            WordChunking(10, 5),
            {"strategy": "word", "max_chunk_size": 10, "overlap": 5},
        ),
        (
            {"strategy": "sentence", "max_chunk_size": 300},
            SentenceChunking(300, 1),
            {"strategy": "sentence", "max_chunk_size": 300, "sentence_overlap": 1},
        ),
        (
            {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
            SentenceChunking(20, 0),
            {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 0},
        ),
        ({"strategy": "none"}, NoneChunking(), {"strategy": "none"}),
        (
            {"strategy": "recursive", "max_chunk_size": 10, "separator_group": " Markdown "},
            RecursiveChunking(10, SEPARATOR_GROUPS["markdown"], "markdown"),
            {"strategy": "recursive", "max_chunk_size": 10, "separators": list(SEPARATOR_GROUPS["markdown"])},
        ),
        (
            {"strategy": "recursive", "max_chunk_size": 50, "separators": ["\n\n", "\\. "]},
            RecursiveChunking(50, ("\n\n", "\\. ")),
            {"strategy": "recursive", "max_chunk_size": 50, "separators": ["\n\n", "\\. "]},
        ),
        (
            # Neither separators nor a group: Elasticsearch falls back to the plaintext group.
            {"strategy": "recursive", "max_chunk_size": 100},
            RecursiveChunking(100, SEPARATOR_GROUPS["plaintext"]),
            {"strategy": "recursive", "max_chunk_size": 100, "separators": PLAINTEXT},
        ),
    ],
)
def test_valid_settings(raw: dict[str, Any], expected: object, as_dict: dict[str, Any]) -> None:
    settings = parse_chunking_settings(raw)
    assert settings == expected
    assert settings.as_dict() == as_dict
    assert settings.strategy == raw["strategy"]


def test_parsing_leaves_the_given_mapping_alone() -> None:
    raw = {"strategy": "word", "max_chunk_size": 10, "overlap": 2}
    parse_chunking_settings(raw)
    assert raw == {"strategy": "word", "max_chunk_size": 10, "overlap": 2}


def test_missing_strategy_is_a_bare_message() -> None:
    with pytest.raises(ChunkingStrategyInvalid) as caught:
        parse_chunking_settings({"max_chunk_size": 20})
    assert caught.value.message == "Can't generate Chunker without ChunkingStrategy provided"
    assert str(caught.value) == "Can't generate Chunker without ChunkingStrategy provided"
    assert isinstance(caught.value, SettingsInvalid)


@pytest.mark.parametrize(
    ("strategy", "shown"), [("X", "X"), ("SENTENCE", "SENTENCE"), (5, "5"), (True, "true")]
)
def test_unknown_strategy(strategy: object, shown: str) -> None:
    with pytest.raises(ChunkingStrategyInvalid) as caught:
        parse_chunking_settings({"strategy": strategy, "max_chunk_size": 20})
    assert caught.value.message == f"Invalid chunkingStrategy {shown}"


SENTENCES = [
    (
        {"strategy": "sentence", "max_chunk_size": 5},
        [
            "[chunking_settings] Invalid value [5.0]. [max_chunk_size] "
            "must be a greater than or equal to [20.0]"
        ],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 301},
        [
            "[chunking_settings] Invalid value [301.0]. [max_chunk_size] "
            "must be a less than or equal to [300.0]"
        ],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 0},
        ["[chunking_settings] Invalid value [0]. [max_chunk_size] must be a positive integer"],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": -3},
        ["[chunking_settings] Invalid value [-3]. [max_chunk_size] must be a positive integer"],
    ),
    (
        {"strategy": "sentence", "sentence_overlap": 1},
        ["[chunking_settings] does not contain the required setting [max_chunk_size]"],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": None},
        ["[chunking_settings] does not contain the required setting [max_chunk_size]"],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": 2},
        ["sentence_overlap[2] must be either 0 or 1"],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": -1},
        ["sentence_overlap[-1] must be either 0 or 1"],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 20.0},
        [
            "field [max_chunk_size] is not of the expected type. "
            "The value [20.0] cannot be converted to a [Integer]"
        ],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": "20"},
        [
            "field [max_chunk_size] is not of the expected type. "
            "The value [20] cannot be converted to a [Integer]"
        ],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 3_000_000_000},
        [
            "field [max_chunk_size] is not of the expected type. "
            "The value [3000000000] cannot be converted to a [Integer]"
        ],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 20, "sentence_overlap": True},
        [
            "field [sentence_overlap] is not of the expected type. "
            "The value [true] cannot be converted to a [Integer]"
        ],
    ),
    (
        {"strategy": "sentence", "max_chunk_size": 20, "overlap": 5},
        ["Sentence based chunking settings can not have the following settings: [overlap]"],
    ),
    (
        # Every broken rule is reported, unknown keys first.
        {"strategy": "sentence", "max_chunk_size": 10, "sentence_overlap": 3, "overlap": 1},
        [
            "Sentence based chunking settings can not have the following settings: [overlap]",
            "[chunking_settings] Invalid value [10.0]. [max_chunk_size] "
            "must be a greater than or equal to [20.0]",
            "sentence_overlap[3] must be either 0 or 1",
        ],
    ),
]

WORDS = [
    (
        {"strategy": "word", "max_chunk_size": 9, "overlap": 1},
        [
            "[chunking_settings] Invalid value [9.0]. [max_chunk_size] "
            "must be a greater than or equal to [10.0]"
        ],
    ),
    (
        {"strategy": "word", "max_chunk_size": 1000, "overlap": 1},
        [
            "[chunking_settings] Invalid value [1000.0]. [max_chunk_size] "
            "must be a less than or equal to [300.0]"
        ],
    ),
    (
        {"strategy": "word", "max_chunk_size": 100},
        ["[chunking_settings] does not contain the required setting [overlap]"],
    ),
    (
        {"strategy": "word", "max_chunk_size": 100, "overlap": 0},
        ["[chunking_settings] Invalid value [0]. [overlap] must be a positive integer"],
    ),
    (
        {"strategy": "word", "max_chunk_size": 25, "overlap": 13},
        ["[chunking_settings] Invalid value [13.0]. [overlap] must be a less than or equal to [12.0]"],
    ),
    (
        # Without a valid size the overlap is not looked at.
        {"strategy": "word", "max_chunk_size": 5, "overlap": 100},
        [
            "[chunking_settings] Invalid value [5.0]. [max_chunk_size] "
            "must be a greater than or equal to [10.0]"
        ],
    ),
    (
        {"strategy": "word", "overlap": 2},
        ["[chunking_settings] does not contain the required setting [max_chunk_size]"],
    ),
    (
        # Unknown keys in the order a Java HashMap lists them.
        {"strategy": "word", "max_chunk_size": 10, "overlap": 5, "foo": 1, "bar": 2},
        ["Word based chunking settings can not have the following settings: [bar, foo]"],
    ),
    (
        {"strategy": "word", "max_chunk_size": 10, "overlap": 5, "sentence_overlap": 1},
        ["Word based chunking settings can not have the following settings: [sentence_overlap]"],
    ),
]

NONE = [
    (
        {"strategy": "none", "max_chunk_size": 10},
        ["When chunking is disabled (none), settings can not have the following: [max_chunk_size]"],
    ),
]

RECURSIVE = [
    (
        {"strategy": "recursive", "max_chunk_size": 9},
        [
            "[chunking_settings] Invalid value [9.0]. [max_chunk_size] "
            "must be a greater than or equal to [10.0]"
        ],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 301},
        [
            "[chunking_settings] Invalid value [301.0]. [max_chunk_size] "
            "must be a less than or equal to [300.0]"
        ],
    ),
    (
        {"strategy": "recursive", "separator_group": "plaintext"},
        ["[chunking_settings] does not contain the required setting [max_chunk_size]"],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "html"},
        [
            "[chunking_settings] Invalid value [html] received. "
            "[separator_group] must be one of [markdown, plaintext]"
        ],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separator_group": ""},
        ["[chunking_settings] Invalid value empty string. [separator_group] must be a non-empty string"],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separator_group": ["markdown"]},
        [
            "field [separator_group] is not of the expected type. "
            "The value [[markdown]] cannot be converted to a [String]"
        ],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separator_group": "markdown", "separators": ["\n"]},
        ["Recursive chunking settings can not have both separators and separator_set"],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separators": []},
        ["Recursive chunking settings can not have an empty list of separators"],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separators": "\n"},
        ["field [separators] is not of the expected type. The value [\n] cannot be converted to a [List]"],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separators": ["\n", 5, 1.5]},
        [
            "field [separators] is not of the expected type. The value [5] cannot be converted to a [String]",
            "field [separators] is not of the expected type. "
            "The value [1.5] cannot be converted to a [String]",
        ],
    ),
    (
        {"strategy": "recursive", "max_chunk_size": 10, "separator_set": "markdown"},
        ["Recursive chunking settings can not have the following settings: [separator_set]"],
    ),
]


@pytest.mark.parametrize(("raw", "expected"), SENTENCES + WORDS + NONE + RECURSIVE)
def test_validation_messages_verbatim(raw: dict[str, Any], expected: list[str]) -> None:
    assert problems(raw) == expected


def test_problems_render_as_elasticsearch_does() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        parse_chunking_settings({"strategy": "sentence", "max_chunk_size": 5, "sentence_overlap": 7})
    assert caught.value.message == (
        "Validation Failed: 1: [chunking_settings] Invalid value [5.0]. [max_chunk_size] must be a greater "
        "than or equal to [20.0];2: sentence_overlap[7] must be either 0 or 1;"
    )


def test_a_separator_that_is_not_a_regex_is_refused_up_front() -> None:
    [problem] = problems({"strategy": "recursive", "max_chunk_size": 10, "separators": ["(unclosed"]})
    assert problem.startswith(
        "[chunking_settings] Invalid value [(unclosed]. [separators] must be regular expressions"
    )


def test_settings_that_would_break_a_chunker_cannot_be_built_directly() -> None:
    with pytest.raises(ValueError, match="overlap"):
        WordChunking(10, 6)
    with pytest.raises(ValueError, match="overlap"):
        SentenceChunking(250, 2)
    with pytest.raises(ValueError, match="separators"):
        RecursiveChunking(10, ())


@pytest.mark.parametrize(
    ("keys", "java_order"),
    [
        # Orders printed by java.util.HashMap (JDK 25) for these keys inserted in this order, then copied.
        (
            ["strategy", "zeta", "alpha", "max_chunk_size", "beta"],
            ["zeta", "max_chunk_size", "strategy", "beta", "alpha"],
        ),
        (
            ["strategy", "max_chunk_size", "Overlap", "sentence_overlap", "chunk_size"],
            ["chunk_size", "sentence_overlap", "Overlap", "max_chunk_size", "strategy"],
        ),
    ],
)
def test_hashmap_order(keys: list[str], java_order: list[str]) -> None:
    assert hashmap_order(keys) == java_order


@pytest.mark.parametrize(
    ("value", "java"),
    [
        (20, "20.0"),
        (0.001, "0.001"),
        (1e7, "1.0E7"),
        (2147483647, "2.147483647E9"),
        (1e-4, "1.0E-4"),
        (-12.5, "-12.5"),
    ],
)
def test_java_double(value: float, java: str) -> None:
    assert java_double(value) == java


def test_java_str() -> None:
    assert java_str([1, "a", None, False, 2.0]) == "[1, a, null, false, 2.0]"
    assert java_str({"a": [1]}) == "{a=[1]}"


def test_java_only_regex_syntax_is_refused() -> None:
    [problem] = problems({"strategy": "recursive", "max_chunk_size": 10, "separators": ["[a-z&&[^q]]"]})
    assert problem.startswith("[chunking_settings] Invalid value [[a-z&&[^q]]]. [separators] must be regular")
    assert "unions and intersections are not supported" in problem


@pytest.mark.parametrize(
    ("pattern", "text", "found"),
    [
        ("a.", "a\rb a\u2028c ad", ["ad"]),  # Java's "." stops at every line end
        ("[^].]+", "x.y]z", ["x", "y", "z"]),  # "]" first in a class is a member; "." in a class is a dot
        ("^x", "x\rx\r\nx", ["x", "x", "x"]),  # "^" after \r, and after \r\n but not inside it
        ("x$", "x\rx\r\nx", ["x", "x", "x"]),
        ("[~~||]+", "~|", ["~|"]),
    ],
)
def test_java_regex(pattern: str, text: str, found: list[str]) -> None:
    assert re.findall(java_regex(pattern), text) == found
