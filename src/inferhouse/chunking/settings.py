"""Chunking settings: the four strategies, parsed and checked the way Elasticsearch's inference API does.

``parse_chunking_settings`` takes the ``chunking_settings`` object of a request. Like Elasticsearch it
checks every rule of the chosen strategy, collects each broken one as a sentence worded exactly as
Elasticsearch words it, and raises them together as :class:`~inferhouse.errors.SettingsInvalid`.
A missing or unknown ``strategy`` is not a list of problems in Elasticsearch but one plain message;
:class:`ChunkingStrategyInvalid` carries that message without the ``Validation Failed`` prefix.

The limits are those of Elasticsearch 8.16 to 9.1: ``max_chunk_size`` up to 300 for every strategy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeAlias

from inferhouse.chunking._java import INT_MAX, INT_MIN, hashmap_order, java_double, java_str
from inferhouse.chunking.separators import SEPARATOR_GROUPS, compile_separator
from inferhouse.errors import SettingsInvalid

__all__ = [
    "DEFAULT_CHUNKING",
    "ChunkingSettings",
    "ChunkingStrategyInvalid",
    "NoneChunking",
    "RecursiveChunking",
    "SentenceChunking",
    "WordChunking",
    "parse_chunking_settings",
]

SCOPE = "chunking_settings"
STRATEGY = "strategy"
MAX_CHUNK_SIZE = "max_chunk_size"
OVERLAP = "overlap"
SENTENCE_OVERLAP = "sentence_overlap"
SEPARATOR_GROUP = "separator_group"
SEPARATORS = "separators"

UPPER_LIMIT = 300
WORD_LOWER_LIMIT = 10
SENTENCE_LOWER_LIMIT = 20
RECURSIVE_LOWER_LIMIT = 10


class ChunkingStrategyInvalid(SettingsInvalid):
    """No ``strategy``, or one Elasticsearch does not know; the message is the bare sentence."""

    def __init__(self, problem: str) -> None:
        super().__init__([problem])
        self.message = problem
        self.args = (problem,)


@dataclass(frozen=True, slots=True)
class WordChunking:
    """Windows of ``max_chunk_size`` words, each starting ``overlap`` words before the last one ended."""

    max_chunk_size: int
    overlap: int
    strategy: ClassVar[Literal["word"]] = "word"

    def __post_init__(self) -> None:
        if self.max_chunk_size < 1 or not 0 <= self.overlap <= self.max_chunk_size // 2:
            raise ValueError(f"word chunking needs 0 <= overlap <= max_chunk_size / 2, got {self}")

    def as_dict(self) -> dict[str, Any]:
        return {STRATEGY: self.strategy, MAX_CHUNK_SIZE: self.max_chunk_size, OVERLAP: self.overlap}


@dataclass(frozen=True, slots=True)
class SentenceChunking:
    """Whole sentences up to ``max_chunk_size`` words; with ``sentence_overlap`` 1 each chunk repeats
    the sentence before it."""

    max_chunk_size: int = 250
    sentence_overlap: int = 1
    strategy: ClassVar[Literal["sentence"]] = "sentence"

    def __post_init__(self) -> None:
        if self.max_chunk_size < 1 or self.sentence_overlap not in (0, 1):
            raise ValueError(f"sentence chunking needs max_chunk_size >= 1 and overlap 0 or 1, got {self}")

    def as_dict(self) -> dict[str, Any]:
        return {
            STRATEGY: self.strategy,
            MAX_CHUNK_SIZE: self.max_chunk_size,
            SENTENCE_OVERLAP: self.sentence_overlap,
        }


@dataclass(frozen=True, slots=True)
class NoneChunking:
    """No chunking: the whole text is one chunk."""

    strategy: ClassVar[Literal["none"]] = "none"

    def as_dict(self) -> dict[str, Any]:
        return {STRATEGY: self.strategy}


@dataclass(frozen=True, slots=True)
class RecursiveChunking:
    """Split on each separator regex in turn until every piece fits ``max_chunk_size`` words.

    ``separator_group`` only records the group the separators came from (Elasticsearch keeps and
    returns the expanded ``separators`` alone).
    """

    max_chunk_size: int
    separators: tuple[str, ...] = SEPARATOR_GROUPS["plaintext"]
    separator_group: str | None = None
    strategy: ClassVar[Literal["recursive"]] = "recursive"

    def __post_init__(self) -> None:
        if self.max_chunk_size < 1 or not self.separators:
            raise ValueError(f"recursive chunking needs max_chunk_size >= 1 and separators, got {self}")

    def as_dict(self) -> dict[str, Any]:
        return {
            STRATEGY: self.strategy,
            MAX_CHUNK_SIZE: self.max_chunk_size,
            SEPARATORS: list(self.separators),
        }


ChunkingSettings: TypeAlias = WordChunking | SentenceChunking | NoneChunking | RecursiveChunking

DEFAULT_CHUNKING: ChunkingSettings = SentenceChunking(max_chunk_size=250, sentence_overlap=1)


def parse_chunking_settings(raw: Mapping[str, Any] | None) -> ChunkingSettings:
    """Settings from a request's ``chunking_settings``; ``None`` or ``{}`` give :data:`DEFAULT_CHUNKING`.

    Raises :class:`~inferhouse.errors.SettingsInvalid` listing every broken rule.
    """
    if raw is None:
        return DEFAULT_CHUNKING
    if not isinstance(raw, Mapping):
        raise SettingsInvalid([_wrong_type(SCOPE, raw, "Map")])
    if not raw:
        return DEFAULT_CHUNKING
    settings = {str(key): value for key, value in raw.items()}
    if settings.get(STRATEGY) is None:
        raise ChunkingStrategyInvalid("Can't generate Chunker without ChunkingStrategy provided")
    name = java_str(settings[STRATEGY])
    parser = _PARSERS.get(name)
    if parser is None:
        raise ChunkingStrategyInvalid(f"Invalid chunkingStrategy {name}")
    problems: list[str] = []
    parsed = parser(settings, problems)
    if problems or parsed is None:
        raise SettingsInvalid(problems)
    return parsed


# --- one parser per strategy; each pops what it reads and appends a sentence per broken rule ---


def _parse_word(settings: dict[str, Any], problems: list[str]) -> ChunkingSettings | None:
    _reject_unknown(settings, {STRATEGY, MAX_CHUNK_SIZE, OVERLAP}, "Word based chunking settings", problems)
    size = _required_int_between(settings, MAX_CHUNK_SIZE, WORD_LOWER_LIMIT, UPPER_LIMIT, problems)
    if size is None:
        return None  # the overlap limit depends on the size, so it is not checked without one
    overlap = _required_positive_int(settings, OVERLAP, problems)
    if overlap is not None and overlap > size // 2:
        problems.append(_at_most(OVERLAP, overlap, size // 2))
    return None if problems or overlap is None else WordChunking(size, overlap)


def _parse_sentence(settings: dict[str, Any], problems: list[str]) -> ChunkingSettings | None:
    _reject_unknown(
        settings, {STRATEGY, MAX_CHUNK_SIZE, SENTENCE_OVERLAP}, "Sentence based chunking settings", problems
    )
    size = _required_int_between(settings, MAX_CHUNK_SIZE, SENTENCE_LOWER_LIMIT, UPPER_LIMIT, problems)
    overlap = _optional_int(settings, SENTENCE_OVERLAP, problems)
    if overlap is None:
        overlap = 1
    elif overlap not in (0, 1):
        problems.append(f"{SENTENCE_OVERLAP}[{overlap}] must be either 0 or 1")
    return None if problems or size is None else SentenceChunking(size, overlap)


def _parse_none(settings: dict[str, Any], problems: list[str]) -> ChunkingSettings | None:
    unknown = [key for key in hashmap_order(settings) if key != STRATEGY]
    if unknown:
        problems.append(
            f"When chunking is disabled (none), settings can not have the following: {java_str(unknown)}"
        )
    return None if problems else NoneChunking()


def _parse_recursive(settings: dict[str, Any], problems: list[str]) -> ChunkingSettings | None:
    _reject_unknown(
        settings,
        {STRATEGY, MAX_CHUNK_SIZE, SEPARATOR_GROUP, SEPARATORS},
        "Recursive chunking settings",
        problems,
    )
    size = _required_int_between(settings, MAX_CHUNK_SIZE, RECURSIVE_LOWER_LIMIT, UPPER_LIMIT, problems)
    group = _optional_separator_group(settings, problems)
    separators = _optional_string_list(settings, SEPARATORS, problems)
    if separators is not None and group is not None:
        # Elasticsearch's sentence still calls the group by its pre-release name, separator_set.
        problems.append("Recursive chunking settings can not have both separators and separator_set")
    if group is not None:
        separators = list(SEPARATOR_GROUPS[group])
    elif separators is not None and not separators:
        problems.append("Recursive chunking settings can not have an empty list of separators")
    for separator in separators or ():
        # Elasticsearch only finds a bad pattern when it first chunks; catching it here keeps a broken
        # endpoint from being stored. The sentence is ours.
        try:
            compile_separator(separator)
        except re.error as error:
            problems.append(
                f"[{SCOPE}] Invalid value [{separator}]. [{SEPARATORS}] must be regular expressions: {error}"
            )
    if problems or size is None:
        return None
    chosen = tuple(separators) if separators is not None else SEPARATOR_GROUPS["plaintext"]
    return RecursiveChunking(size, chosen, group)


_PARSERS: dict[str, Callable[[dict[str, Any], list[str]], ChunkingSettings | None]] = {
    "word": _parse_word,
    "sentence": _parse_sentence,
    "none": _parse_none,
    "recursive": _parse_recursive,
}


# --- field readers, each following one of Elasticsearch's extraction rules ---


def _reject_unknown(settings: dict[str, Any], valid: set[str], what: str, problems: list[str]) -> None:
    unknown = [key for key in hashmap_order(settings) if key not in valid]
    if unknown:
        problems.append(f"{what} can not have the following settings: {java_str(unknown)}")


def _optional_int(settings: dict[str, Any], key: str, problems: list[str]) -> int | None:
    """The value if it is a JSON integer that fits a Java ``int``; null counts as absent."""
    value = settings.pop(key, None)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not INT_MIN <= value <= INT_MAX:
        problems.append(_wrong_type(key, value, "Integer"))
        return None
    return value


def _required_positive_int(settings: dict[str, Any], key: str, problems: list[str]) -> int | None:
    before = len(problems)
    value = _optional_int(settings, key, problems)
    if len(problems) > before:
        return None
    if value is None:
        problems.append(f"[{SCOPE}] does not contain the required setting [{key}]")
        return None
    if value <= 0:
        problems.append(f"[{SCOPE}] Invalid value [{value}]. [{key}] must be a positive integer")
        return None
    return value


def _required_int_between(
    settings: dict[str, Any], key: str, lowest: int, highest: int, problems: list[str]
) -> int | None:
    value = _required_positive_int(settings, key, problems)
    if value is None:
        return None
    if value < lowest:
        problems.append(
            f"[{SCOPE}] Invalid value [{java_double(value)}]. "
            f"[{key}] must be a greater than or equal to [{java_double(lowest)}]"
        )
        return None
    if value > highest:
        problems.append(_at_most(key, value, highest))
        return None
    return value


def _at_most(key: str, value: int, highest: int) -> str:
    return (
        f"[{SCOPE}] Invalid value [{java_double(value)}]. "
        f"[{key}] must be a less than or equal to [{java_double(highest)}]"
    )


def _optional_separator_group(settings: dict[str, Any], problems: list[str]) -> str | None:
    value = settings.pop(SEPARATOR_GROUP, None)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(_wrong_type(SEPARATOR_GROUP, value, "String"))
        return None
    if not value:
        problems.append(
            f"[{SCOPE}] Invalid value empty string. [{SEPARATOR_GROUP}] must be a non-empty string"
        )
        return None
    # Java's trim() drops control characters and spaces; the name is then matched case-insensitively.
    name = value.strip("".join(map(chr, range(33)))).lower()
    if name not in SEPARATOR_GROUPS:
        choices = ", ".join(sorted(SEPARATOR_GROUPS))
        problems.append(
            f"[{SCOPE}] Invalid value [{value}] received. [{SEPARATOR_GROUP}] must be one of [{choices}]"
        )
        return None
    return name


def _optional_string_list(settings: dict[str, Any], key: str, problems: list[str]) -> list[str] | None:
    value = settings.pop(key, None)
    if value is None:
        return None
    if not isinstance(value, list | tuple):
        problems.append(_wrong_type(key, value, "List"))
        return None
    wrong = [item for item in value if not isinstance(item, str)]
    for item in wrong:
        problems.append(_wrong_type(key, item, "String"))
    return None if wrong else list(value)


def _wrong_type(key: str, value: object, expected: str) -> str:
    return (
        f"field [{key}] is not of the expected type. "
        f"The value [{java_str(value)}] cannot be converted to a [{expected}]"
    )
