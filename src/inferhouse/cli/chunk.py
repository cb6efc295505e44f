"""``inferhouse chunk``: split a text file the way an endpoint's chunking settings would, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from inferhouse.cli._common import fail
from inferhouse.errors import SettingsInvalid


def chunk(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A UTF-8 text file, or - for standard input")],
    strategy: Annotated[
        str | None,
        typer.Option(
            help="sentence, word, none or recursive (default: sentence when any other setting is given)",
            show_default=False,
        ),
    ] = None,
    max_chunk_size: Annotated[int | None, typer.Option(help="Words per chunk at most")] = None,
    overlap: Annotated[int | None, typer.Option(help="word: words each chunk repeats")] = None,
    sentence_overlap: Annotated[
        int | None, typer.Option(help="sentence: 1 repeats the previous sentence, 0 does not")
    ] = None,
    separator_group: Annotated[
        str | None, typer.Option(help="recursive: plaintext or markdown separators")
    ] = None,
    separator: Annotated[
        list[str] | None,
        typer.Option(
            "--separator",
            metavar="REGEX",
            help="recursive: a separator pattern, coarsest first (repeat for more)",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document with the settings and all chunks")
    ] = False,
) -> None:
    """Split FILE as chunking_settings would; print each chunk as a JSON line with its offsets."""
    # No settings at all means the default for new endpoints (sentence, 250 words, overlap 1); any
    # setting given goes through Elasticsearch's checks. Offsets index the decoded text.
    from inferhouse.chunking import chunk_text, parse_chunking_settings

    given: dict[str, Any] = {
        "max_chunk_size": max_chunk_size,
        "overlap": overlap,
        "sentence_overlap": sentence_overlap,
        "separator_group": separator_group,
        "separators": separator or None,
    }
    raw = {key: value for key, value in given.items() if value is not None}
    if strategy is not None or raw:
        raw = {"strategy": strategy or "sentence", **raw}
    try:
        settings = parse_chunking_settings(raw)
    except SettingsInvalid as error:
        raise fail(error.message, 2) from None
    text = _read(file)
    chunks = [
        {
            "chunk": number,
            "start_offset": piece.start_offset,
            "end_offset": piece.end_offset,
            "text": piece.text,
        }
        for number, piece in enumerate(chunk_text(text, settings))
    ]
    if as_json:
        document = {"chunking_settings": settings.as_dict(), "chunks": chunks}
        typer.echo(json.dumps(document, indent=2, ensure_ascii=False))
        return
    for line in chunks:
        typer.echo(json.dumps(line, ensure_ascii=False))


def _read(file: str) -> str:
    """The file's text exactly as stored: UTF-8 (a leading BOM dropped), line ends untouched."""
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
        return data.decode("utf-8-sig")
    except OSError as error:
        raise fail(f"cannot read {file}: {error.strerror or error}", 2) from None
    except UnicodeDecodeError as error:
        raise fail(f"{file} is not UTF-8 text: {error}", 2) from None
