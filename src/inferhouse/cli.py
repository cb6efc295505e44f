"""The ``inferhouse`` command."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from inferhouse.client import Client, IndexDescription, InferhouseAPIError, Match
from inferhouse.client._client import DEFAULT_BASE_URL
from inferhouse.ingest import (
    IngestError,
    Ingestion,
    IngestPlan,
    UnsupportedFormat,
    checkpoint_path,
    count_rows,
)
from inferhouse.ingest.progress import ingest_progress
from inferhouse.settings import Settings

app = typer.Typer(help="Self-hosted Hugging Face model serving and vector search.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")
index_app = typer.Typer(help="Create, inspect, query and delete vector indexes.", no_args_is_help=True)
app.add_typer(index_app, name="index")

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Where state lives (env: INFERHOUSE_DATA_DIR)")
]
UrlOption = Annotated[str, typer.Option("--url", envvar="INFERHOUSE_URL", help="The server to talk to")]
TokenOption = Annotated[
    str | None,
    typer.Option(
        "--token",
        envvar="INFERHOUSE_TOKEN",
        help="API token; else $INFERHOUSE_ADMIN_TOKEN, else the admin-token file in the data directory",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table")]
NamespaceOption = Annotated[str, typer.Option(help="Namespace in the index")]


def _settings(**overrides: Any) -> Settings:
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        messages = "; ".join(problem["msg"].removeprefix("Value error, ") for problem in error.errors())
        typer.echo(f"error: {messages}", err=True)
        raise typer.Exit(2) from None


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (env: INFERHOUSE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (env: INFERHOUSE_PORT)")] = None,
    data_dir: DataDirOption = None,
    access_log: Annotated[bool, typer.Option(help="Log every request")] = False,
) -> None:
    """Start the server: the default embedding endpoint, then every API on one port."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    settings = _settings(host=host, port=port, data_dir=data_dir)
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    import uvicorn

    from inferhouse.app import create_app

    logging.getLogger("inferhouse").info(
        "inferhouse listens on http://%s:%d (data in %s)", settings.host, settings.port, settings.data_dir
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A label to remember the token by")] = "user",
    data_dir: DataDirOption = None,
) -> None:
    """Create an API token and print it (only its hash is stored)."""
    from inferhouse.auth import TokenStore
    from inferhouse.storage import Database

    settings = _settings(data_dir=data_dir)
    db = Database.in_data_dir(settings.data_dir)
    try:
        typer.echo(TokenStore(db).create(name))
    finally:
        db.close()


def _token(given: str | None, data_dir: Path | None) -> str | None:
    """The token to send: given, else the server's configured admin token, else the one it generated."""
    if given:
        return given
    from inferhouse.auth import ADMIN_TOKEN_FILE

    settings = _settings(data_dir=data_dir)
    if settings.admin_token:
        return settings.admin_token
    try:
        return (settings.data_dir / ADMIN_TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None  # perhaps the server runs with auth off; else it answers 401, which we print


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def _connect(url: str, token: str | None, data_dir: Path | None) -> Iterator[Client]:
    """A client whose API and connection errors end the command with a one-line message."""
    import httpx

    client = Client(url, token=_token(token, data_dir))
    try:
        yield client
    except InferhouseAPIError as error:
        raise _fail(str(error)) from None
    except httpx.HTTPError as error:
        raise _fail(f"cannot talk to {url}: {error}") from None
    finally:
        client.close()


def _print(as_json: bool, data: object, table: Table | None) -> None:
    if as_json or table is None:
        typer.echo(json.dumps(data, indent=2))
    else:
        Console(markup=False).print(table)  # cells hold user data: "[x]" is text, not style


def _table(*columns: str) -> Table:
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def _describe(index: IndexDescription, as_json: bool) -> None:
    data = dataclasses.asdict(index)
    table = _table("field", "value")
    for key, value in data.items():
        table.add_row(key, str(value))
    _print(as_json, data, table)


@index_app.command("create")
def index_create(
    name: str,
    dimension: Annotated[int, typer.Option(min=1, help="Length of the vectors")],
    metric: Annotated[str, typer.Option(help="cosine, euclidean or dotproduct")] = "cosine",
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an index."""
    with _connect(url, token, data_dir) as client:
        _describe(client.create_index(name, dimension, metric), as_json)


@index_app.command("list")
def index_list(
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the indexes."""
    with _connect(url, token, data_dir) as client:
        indexes = client.list_indexes()
    table = _table("name", "dimension", "metric", "deletion protection")
    for index in indexes:
        table.add_row(index.name, str(index.dimension), index.metric, index.deletion_protection)
    _print(as_json, [dataclasses.asdict(index) for index in indexes], table)


@index_app.command("describe")
def index_describe(
    name: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Describe an index."""
    with _connect(url, token, data_dir) as client:
        _describe(client.describe_index(name), as_json)


@index_app.command("stats")
def index_stats(
    name: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Count an index's vectors, per namespace."""
    with _connect(url, token, data_dir) as client:
        stats = client.index_stats(name)
    table = _table("namespace", "vectors")
    table.caption = f"dimension {stats.dimension}"
    for namespace, count in sorted(stats.namespaces.items()):
        table.add_row(namespace or '""', str(count))
    table.add_section()
    table.add_row("all", str(stats.total_vector_count))
    _print(as_json, dataclasses.asdict(stats), table)


@index_app.command("query")
def index_query(
    name: str,
    text: Annotated[str | None, typer.Option(help="Text to embed and search for (needs --endpoint)")] = None,
    endpoint: Annotated[str | None, typer.Option(help="Endpoint that embeds --text")] = None,
    vector_id: Annotated[str | None, typer.Option("--id", help="Search near this stored vector")] = None,
    top_k: Annotated[int, typer.Option(min=1, max=10_000, help="How many matches")] = 10,
    namespace: NamespaceOption = "",
    filter_json: Annotated[str | None, typer.Option("--filter", help="Metadata filter, as JSON")] = None,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Find the nearest vectors to a text (embedded through --endpoint) or to a stored id."""
    if (text is None) == (vector_id is None):
        raise _fail("give exactly one of --text or --id", 2)
    if text is not None and endpoint is None:
        raise _fail("--text needs --endpoint, the endpoint that embeds it", 2)
    try:
        where = None if filter_json is None else json.loads(filter_json)
    except ValueError as error:
        raise _fail(f"--filter is not JSON: {error}", 2) from None
    with _connect(url, token, data_dir) as client:
        vector = None if text is None else client.embed(text, endpoint=endpoint or "")[0]
        matches = client.query(name, vector, vector_id, top_k=top_k, filter=where, namespace=namespace)
    _print(as_json, [dataclasses.asdict(match) for match in matches], _matches_table(matches))


def _matches_table(matches: list[Match]) -> Table:
    table = _table("id", "score", "text")
    for match in matches:
        text = match.metadata.get("text")
        table.add_row(match.id, f"{match.score:.4f}", text if isinstance(text, str) else "")
    return table


@index_app.command("delete")
def index_delete(
    name: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete an index and all its vectors."""
    with _connect(url, token, data_dir) as client:
        client.delete_index(name)
    typer.echo(f"deleted index {name}")


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A .jsonl or .csv file")],
    index: Annotated[str, typer.Option(help="Index to upsert into")],
    endpoint: Annotated[str, typer.Option(help="Endpoint that embeds the texts")],
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
    """Embed each row's text through an endpoint and upsert it into an index; a rerun resumes."""
    plan = IngestPlan(index, endpoint, namespace, text_field, id_field, batch_size, create, limit)
    progress_file = checkpoint or checkpoint_path(file)
    try:
        ingestion = Ingestion(file, plan, progress_file)
        total = count_rows(file)
    except (UnsupportedFormat, UnicodeDecodeError, OSError) as error:
        raise _fail(str(error), 2) from None
    console = Console(stderr=True, markup=False)
    if ingestion.restart_reason:
        console.print(f"starting from the first row: {ingestion.restart_reason}")
    this_run = total if limit is None else min(total, ingestion.resumed_at + limit)
    with _connect(url, token, data_dir) as client, ingest_progress(console) as progress:
        task = progress.add_task(file.name, total=this_run, completed=ingestion.resumed_at)
        try:
            report = ingestion.run(
                client,
                on_batch=lambda rows: progress.advance(task, rows),
                on_bad_row=lambda bad: progress.console.print(f"skipped line {bad.line}: {bad.reason}"),
            )
        except (IngestError, UnicodeDecodeError, OSError) as error:
            raise _fail(str(error)) from None
        except KeyboardInterrupt:
            done = ingestion.checkpoint.rows_done
            raise _fail(f"interrupted after {done} rows; run the same command again to resume", 130) from None
    summary = {"file": str(file), "index": index, "namespace": namespace, "rows": total}
    summary |= dataclasses.asdict(report) | {"checkpoint": str(progress_file)}
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    resumed = f" (resumed after {report.resumed_at})" if report.resumed_at else ""
    typer.echo(
        f"{report.rows_done} of {total} rows done{resumed}: {report.upserted} vectors upserted "
        f"into {index}, bad rows skipped: {report.bad_rows}"
    )


def main() -> None:
    app()


if __name__ == "__main__":
    main()
