"""Rows of JSONL and CSV files: line numbers, bad rows kept as rows, formats by extension."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferhouse.ingest import UnsupportedFormat, count_rows, read_rows


def test_jsonl_rows_carry_their_line_and_bad_lines_are_rows(tmp_path: Path) -> None:
    path = tmp_path / "docs.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b", "n": 2}\n{broken\n[1, 2]\n', encoding="utf-8")
    rows = list(read_rows(path))
    assert [row.line for row in rows] == [1, 3, 4, 5]
    assert rows[1].fields == {"text": "b", "n": 2}
    assert rows[2].error is not None
    assert "invalid JSON" in rows[2].error
    assert rows[3].error == "a JSON list, not an object"
    assert count_rows(path) == 4


def test_csv_rows_start_on_their_line_even_with_quoted_newlines(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_text('id,text,tag\n1,"two\nlines",x\n\n2,plain,y\n3,short\n4,a,b,extra\n', encoding="utf-8")
    rows = list(read_rows(path))
    assert [row.line for row in rows] == [2, 5, 6, 7]
    assert rows[0].fields == {"id": "1", "text": "two\nlines", "tag": "x"}
    assert rows[2].fields == {"id": "3", "text": "short"}  # a missing trailing field is left out
    assert rows[3].error == "4 fields, but the header names 3"


def test_byte_order_mark_is_not_part_of_the_first_field(tmp_path: Path) -> None:
    path = tmp_path / "docs.csv"
    path.write_bytes("\ufefftext\nhello\n".encode())
    assert next(read_rows(path)).fields == {"text": "hello"}


def test_tsv_and_empty_csv(tmp_path: Path) -> None:
    tsv = tmp_path / "docs.tsv"
    tsv.write_text("text\tid\nhello, world\tx\n", encoding="utf-8")
    assert next(read_rows(tsv)).fields == {"text": "hello, world", "id": "x"}
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    assert list(read_rows(empty)) == []


def test_unknown_extension_is_refused_before_reading(tmp_path: Path) -> None:
    with pytest.raises(UnsupportedFormat, match=r"\.jsonl"):
        read_rows(tmp_path / "docs.parquet")
