"""``inferhouse ingest``: embed a file's rows through an endpoint and upsert them into an index."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from inferhouse.chunking import parse_chunking_settings
from inferhouse.cli._common import (
    DEFAULT_BASE_URL,
    DataDirOption,
    JsonOption,
    NamespaceOption,
    TokenOption,
    UrlOption,
    connect,
    fail,
)
from inferhouse.errors import SettingsInvalid
from inferhouse.ingest import (
    IngestError,
    Ingestion,
    IngestPlan,
    UnsupportedFormat,
    checkpoint_path,
    count_rows,
)
from inferhouse.ingest.progress import ingest_progress


def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv file")],
    index: Annotated[str, typer.Option(help="Index to upsert into")],
    endpoint: Annotated[
        str | None, typer.Option(help="Endpoint that embeds the texts here, upserting vectors")
    ] = None,
    inference_id: Annotated[
        str | None,
        typer.Option(
            help="Inference endpoint (or endpoint name) of an integrated index: the server chunks and embeds"
        ),
    ] = None,
    chunking_strategy: Annotated[
        str | None,
        typer.Option(help="Chunking of a created integrated index: sentence, word, recursive, none"),
    ] = None,
    max_chunk_size: Annotated[
        int | None, typer.Option(help="Words per chunk (with --chunking-strategy)")
    ] = None,
    overlap: Annotated[int | None, typer.Option(help="Words of overlap (word strategy)")] = None,
    sentence_overlap: Annotated[
        int | None, typer.Option(help="Sentences of overlap, 0 or 1 (sentence)")
    ] = None,
    text_field: Annotated[str, typer.Option(help="Field with the text to embed")] = "text",
    id_field: Annotated[
        str, typer.Option(help="Field with the vector id; rows without one get <file stem>-<line>")
    ] = "id",
    namespace: NamespaceOption = "",
    batch_size: Annotated[int, typer.Option(min=1, max=256, help="Rows per embed and upsert")] = 64,
    create: Annotated[bool, typer.Option(help="Create a missing index with the endpoint's dimension")] = True,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rows; rerun to go on")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option(help="Progress file (default: FILE.ingest-progress.json)")
    ] = None,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Embed each row's text through an endpoint and upsert it into an index; a rerun resumes.

    With --inference-id the rows go as text records to an integrated index (created for that model
    if missing), which chunks each text and embeds the chunks on the server."""
    if (endpoint is None) == (inference_id is None):
        raise fail("give exactly one of --endpoint or --inference-id", 2)
    chunking = _chunking(chunking_strategy, max_chunk_size, overlap, sentence_overlap)
    if chunking is not None and inference_id is None:
        raise fail("chunking options apply to integrated indexes: use them with --inference-id", 2)
    plan = IngestPlan(
        index,
        endpoint,
        namespace,
        text_field,
        id_field,
        batch_size,
        create,
        limit,
        inference_id=inference_id,
        chunking=chunking,
    )
    progress_file = checkpoint or checkpoint_path(file)
    try:
        ingestion = Ingestion(file, plan, progress_file)
        total = count_rows(file)
    except (UnsupportedFormat, UnicodeDecodeError, OSError) as error:
        raise fail(str(error), 2) from None
    console = Console(stderr=True, markup=False)
    if ingestion.restart_reason:
        console.print(f"starting from the first row: {ingestion.restart_reason}")
    this_run = total if limit is None else min(total, ingestion.resumed_at + limit)
    with connect(url, token, data_dir) as client, ingest_progress(console) as progress:
        task = progress.add_task(file.name, total=this_run, completed=ingestion.resumed_at)
        try:
            report = ingestion.run(
                client,
                on_batch=lambda rows: progress.advance(task, rows),
                on_bad_row=lambda bad: progress.console.print(f"skipped line {bad.line}: {bad.reason}"),
            )
        except (IngestError, UnicodeDecodeError, OSError) as error:
            raise fail(str(error)) from None
        except KeyboardInterrupt:
            done = ingestion.checkpoint.rows_done
            raise fail(f"interrupted after {done} rows; run the same command again to resume", 130) from None
    summary: dict[str, object] = {"file": str(file), "index": index, "namespace": namespace, "rows": total}
    summary |= dataclasses.asdict(report) | {"checkpoint": str(progress_file)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    resumed = f" (resumed after {report.resumed_at})" if report.resumed_at else ""
    unit = "records" if inference_id is not None else "vectors"
    typer.echo(
        f"{report.rows_done} of {total} rows done{resumed}: {report.upserted} {unit} upserted "
        f"into {index}, bad rows skipped: {report.bad_rows}"
    )


def _chunking(
    strategy: str | None, max_chunk_size: int | None, overlap: int | None, sentence_overlap: int | None
) -> dict[str, Any] | None:
    """The chunking_settings the options spell, checked here with the server's own rules and messages."""
    given = {"max_chunk_size": max_chunk_size, "overlap": overlap, "sentence_overlap": sentence_overlap}
    settings: dict[str, Any] = {key: value for key, value in given.items() if value is not None}
    if strategy is None and not settings:
        return None
    settings = {"strategy": strategy or "sentence", **settings}
    try:
        parse_chunking_settings(settings)
    except SettingsInvalid as error:
        raise fail(error.message, 2) from None
    return settings
