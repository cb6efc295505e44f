"""``inferhouse index import`` and ``inferhouse index export``: bulk moves in Pinecone's import layout.

``import`` asks the server to read Parquet files from a directory on its disk and follows the import's
progress; ``export`` streams the index from one consistent read on the server and writes the same layout
here, so an export imports back (here, or into Pinecone) unchanged.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from inferhouse.cli._common import DEFAULT_BASE_URL, DataDirOption, TokenOption, UrlOption, connect, fail
from inferhouse.client import Client, ImportStatus

ErrorModeOption = Annotated[
    str,
    typer.Option(
        "--error-mode",
        help="abort: stop at the first bad record; continue: skip bad records and import the rest",
    ),
]
WaitOption = Annotated[bool, typer.Option("--wait/--no-wait", help="Follow the import until it ends")]


def index_import(
    name: str,
    uri: Annotated[
        str, typer.Argument(help="Directory of namespace folders of .parquet files, or file:// URI")
    ],
    error_mode: ErrorModeOption = "abort",
    wait: WaitOption = True,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import Parquet files in Pinecone's import layout (read by the server, from its disk)."""
    if error_mode not in ("abort", "continue"):
        raise fail("--error-mode must be abort or continue", 2)
    if "://" not in uri:
        uri = str(Path(uri).absolute())  # the server resolves nothing against our working directory
    with connect(url, token, data_dir) as client:
        import_id = client.start_import(name, uri, error_mode=error_mode)
        typer.echo(f"import {import_id} started")
        if not wait:
            return
        status = _follow(client, name, import_id)
    typer.echo(f"import {import_id} {status.status}: {status.records_imported} records imported")
    if status.error:
        typer.echo(status.error, err=True)
    if status.status != "Completed":
        raise typer.Exit(1)


def _follow(client: Client, name: str, import_id: str) -> ImportStatus:
    columns = (TextColumn("importing"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    with Progress(*columns, transient=True) as progress:
        task = progress.add_task("import", total=100.0)
        while True:
            status = client.describe_import(name, import_id)
            progress.update(task, completed=status.percent_complete)
            if status.done:
                return status
            time.sleep(0.5)


def index_export(
    name: str,
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory to write")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write an index in Pinecone's import layout, from one consistent read on the server."""
    from inferhouse.vectors.exporter import read_stream, target_directory, write_export

    try:
        target = target_directory(directory)
    except ValueError as error:
        raise fail(str(error), 2) from None
    with connect(url, token, data_dir) as client, client.export_stream(name) as pieces:
        # Buffered: pyarrow takes a short read for the end of the stream.
        summary = write_export(target, read_stream(io.BufferedReader(_Pieces(pieces), 1 << 20)))
    namespaces = ", ".join(
        f"{ns or '__default__'} ({count})" for ns, count in sorted(summary.namespaces.items())
    )
    typer.echo(f"exported {summary.records} records to {target}: {namespaces or 'no namespaces'}")


class _Pieces(io.RawIOBase):
    """The pieces of a streamed reply as a file that pyarrow reads."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._left = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._left:
            piece = next(self._pieces, None)
            if piece is None:
                return 0
            self._left = piece
        count = min(len(buffer), len(self._left))
        buffer[:count] = self._left[:count]
        self._left = self._left[count:]
        return count
