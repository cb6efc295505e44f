"""The one JSON parser every route's body goes through: strict, and bounded in depth."""

from __future__ import annotations

import pytest

from inferhouse.api.core.bodies import MAX_JSON_DEPTH, parse_json
from inferhouse.errors import InvalidJson


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_the_deepest_body_allowed_parses() -> None:
    expected: list[object] = []
    for _ in range(MAX_JSON_DEPTH - 2):
        expected = [expected]
    assert parse_json(b'{"a": ' + _nested(MAX_JSON_DEPTH - 1) + b"}") == {"a": expected}


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1025, 10_000])
def test_deeper_bodies_are_invalid_json(depth: int) -> None:
    with pytest.raises(InvalidJson, match=r"nests|not valid JSON"):
        parse_json(_nested(depth))


def test_many_shallow_containers_are_fine() -> None:
    body = b'{"vectors": [' + b",".join([b'{"id": "a", "values": [1, 2]}'] * 500) + b"]}"
    assert len(parse_json(body)["vectors"]) == 500


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "is empty"),
        (b"  \r\n", "is empty"),
        (b'{"a": NaN}', "not valid JSON"),
        (b'{"a": Infinity}', "not valid JSON"),
        (b'{"a": -Infinity}', "not valid JSON"),
        (b'{"a": 1e400}', "not valid JSON"),
        (b'{"a": "caf\xe9"}', "not valid UTF-8"),
        (b'{"a": "\\ud800"}', "not valid JSON"),
        (b'{"a": 1,}', "not valid JSON"),
    ],
)
def test_what_is_not_json(raw: bytes, fragment: str) -> None:
    with pytest.raises(InvalidJson, match=fragment):
        parse_json(raw)
