"""Rows to records: ids, metadata, and the rows that are bad rather than fatal."""

from __future__ import annotations

from typing import Any

import pytest

from inferhouse.ingest import BadRow, Fields, Record, Row
from inferhouse.ingest.records import batched, split_batch, to_record

FIELDS = Fields(text="text", id="id", id_prefix="docs")


def _row(fields: dict[str, Any], line: int = 7) -> Row:
    return Row(line, str(fields), fields)


def test_metadata_keeps_the_text_and_other_storable_fields() -> None:
    row = _row(
        {
            "id": 12,
            "text": "hello",
            "year": 2020,
            "score": 0.5,
            "ok": True,
            "tags": ["a", "b"],
            "nested": {"x": 1},
            "missing": None,
            "nan": float("nan"),
            "mixed": ["a", 1],
        }
    )
    assert to_record(row, FIELDS) == Record(
        "12", "hello", {"text": "hello", "year": 2020, "score": 0.5, "ok": True, "tags": ["a", "b"]}
    )


@pytest.mark.parametrize(
    "fields", [{"text": "hello"}, {"text": "hello", "id": ""}, {"text": "x", "id": None}]
)
def test_rows_without_an_id_get_stem_and_line(fields: dict[str, Any]) -> None:
    record = to_record(_row(fields, line=41), FIELDS)
    assert isinstance(record, Record)
    assert record.id == "docs-41"


def test_other_field_names() -> None:
    row = _row({"body": "hello", "key": "k1", "text": "not this"})
    record = to_record(row, Fields(text="body", id="key"))
    assert record == Record("k1", "hello", {"body": "hello", "text": "not this"})


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"title": "x"}, "no 'text' field"),
        ({"text": "   "}, "field 'text' is empty"),
        ({"text": 5}, "field 'text' is a int, not a string"),
        ({"text": "x", "id": True}, "field 'id' is a bool"),
        ({"text": "x", "id": "i" * 513}, "longer than 512"),
        ({"text": "x" * 41_000}, "over the index's limit"),
    ],
)
def test_bad_rows_say_why(fields: dict[str, Any], reason: str) -> None:
    bad = to_record(_row(fields), FIELDS)
    assert isinstance(bad, BadRow)
    assert bad.line == 7
    assert reason in bad.reason


def test_unparsed_rows_are_bad_with_the_reader_reason() -> None:
    assert to_record(Row(3, "{x", {}, "invalid JSON"), FIELDS) == BadRow(3, "invalid JSON")


def test_split_batch_keeps_order() -> None:
    rows = [_row({"text": "a"}, 1), _row({}, 2), _row({"text": "b"}, 3)]
    records, bad = split_batch(rows, FIELDS)
    assert [r.id for r in records] == ["docs-1", "docs-3"]
    assert bad == [BadRow(2, "no 'text' field")]


def test_batched() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []
    with pytest.raises(ValueError, match="at least 1"):
        list(batched(range(3), 0))
