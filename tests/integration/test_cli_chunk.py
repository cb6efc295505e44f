"""``inferhouse chunk``: a file or stdin in, NDJSON (or one JSON document) out, bad settings exit 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from inferhouse.chunking import chunk_text, parse_chunking_settings
from inferhouse.cli import app

TEXT = (
    "Crème brûlée 😀 is a dessert. " * 30
    + "\r\nThis file has CRLF line ends and an emoji 👍🏽 that takes two UTF-16 units.\r\n"
    + "Last sentence without a full stop"
)

runner = CliRunner()


@pytest.fixture
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "doc.txt"
    path.write_bytes(TEXT.encode("utf-8"))
    return path


def lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines()]


def test_default_settings_print_ndjson_with_offsets(text_file: Path) -> None:
    result = runner.invoke(app, ["chunk", str(text_file)])
    assert result.exit_code == 0, result.output
    rows = lines(result.stdout)
    expected = chunk_text(TEXT, parse_chunking_settings(None))
    assert [row["chunk"] for row in rows] == list(range(len(expected)))
    for row, chunk in zip(rows, expected, strict=True):
        assert (row["start_offset"], row["end_offset"], row["text"]) == (
            chunk.start_offset,
            chunk.end_offset,
            chunk.text,
        )
        assert TEXT[row["start_offset"] : row["end_offset"]] == row["text"]  # CRLF kept, emoji counted once


def test_word_strategy_from_stdin() -> None:
    result = runner.invoke(
        app, ["chunk", "-", "--strategy", "word", "--max-chunk-size", "10", "--overlap", "5"], input=TEXT
    )
    assert result.exit_code == 0, result.output
    rows = lines(result.stdout)
    settings = parse_chunking_settings({"strategy": "word", "max_chunk_size": 10, "overlap": 5})
    assert [row["text"] for row in rows] == [chunk.text for chunk in chunk_text(TEXT, settings)]
    assert len(rows) > 10


def test_json_document_with_settings(text_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "chunk",
            str(text_file),
            "--strategy",
            "recursive",
            "--max-chunk-size",
            "20",
            "--separator",
            "\\. ",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["chunking_settings"] == {
        "strategy": "recursive",
        "max_chunk_size": 20,
        "separators": ["\\. "],
    }
    chunks = document["chunks"]
    assert len(chunks) > 1
    assert all(TEXT[chunk["start_offset"] : chunk["end_offset"]] == chunk["text"] for chunk in chunks)


def test_none_strategy_is_the_whole_file(text_file: Path) -> None:
    result = runner.invoke(app, ["chunk", str(text_file), "--strategy", "none"])
    assert result.exit_code == 0, result.output
    assert lines(result.stdout) == [{"chunk": 0, "start_offset": 0, "end_offset": len(TEXT), "text": TEXT}]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ["--max-chunk-size", "5"],
            "error: Validation Failed: 1: [chunking_settings] Invalid value [5.0]. "
            "[max_chunk_size] must be a greater than or equal to [20.0];",
        ),
        (["--strategy", "paragraph"], "error: Invalid chunkingStrategy paragraph"),
        (
            ["--strategy", "word", "--max-chunk-size", "20", "--sentence-overlap", "1"],
            "error: Validation Failed: 1: Word based chunking settings can not have the following settings: "
            "[sentence_overlap];2: [chunking_settings] does not contain the required setting [overlap];",
        ),
        (
            [
                "--strategy",
                "recursive",
                "--max-chunk-size",
                "20",
                "--separator-group",
                "markdown",
                "--separator",
                "x",
            ],
            "error: Validation Failed: 1: "
            "Recursive chunking settings can not have both separators and separator_set;",
        ),
    ],
)
def test_bad_settings_exit_2_with_the_elasticsearch_message(
    text_file: Path, options: list[str], message: str
) -> None:
    result = runner.invoke(app, ["chunk", str(text_file), *options])
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert result.stdout == ""


def test_unreadable_input_exits_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["chunk", str(tmp_path / "missing.txt")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"\xff\xfe\x00bad")
    not_text = runner.invoke(app, ["chunk", str(binary)])
    assert not_text.exit_code == 2
    assert "not UTF-8" in not_text.stderr


def test_installed_command_runs(text_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferhouse", "chunk", str(text_file), "--max-chunk-size", "20"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = lines(result.stdout)
    assert rows[0]["start_offset"] == 0
    assert all(TEXT[row["start_offset"] : row["end_offset"]] == row["text"] for row in rows)
