"""The ``inferhouse`` command."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from inferhouse.client import (
    Client,
    EndpointDescription,
    EndpointNotReady,
    IndexDescription,
    InferhouseAPIError,
    Match,
)
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
endpoints_app = typer.Typer(
    help="Create, inspect, update, pause, resume and delete inference endpoints "
    "(the Hugging Face Inference Endpoints API).",
    no_args_is_help=True,
)
app.add_typer(endpoints_app, name="endpoints")

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
    endpoint: Annotated[
        list[str] | None,
        typer.Option(
            "--endpoint",
            metavar="NAME",
            help="Scope the token to calling this endpoint only (repeat for several); "
            "such a token may not call anything else",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an API token and print it (only its hash is stored)."""
    from inferhouse.auth import TokenStore
    from inferhouse.storage import Database

    settings = _settings(data_dir=data_dir)
    db = Database.in_data_dir(settings.data_dir)
    try:
        typer.echo(TokenStore(db).create(name, endpoints=endpoint or ()))
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
    except (InferhouseAPIError, EndpointNotReady) as error:
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


def _describe(item: IndexDescription | EndpointDescription, as_json: bool) -> None:
    data = dataclasses.asdict(item)
    table = _table("field", "value")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
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


# Inference endpoints


class Access(StrEnum):
    """Who may call an endpoint; ``authenticated`` is the newer name of ``protected``."""

    PUBLIC = "public"
    PROTECTED = "protected"
    AUTHENTICATED = "authenticated"
    PRIVATE = "private"


class Accelerator(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


# One Option each, shared by create (defaults) and update (None: leave as is); typer copies them per use.
_REPOSITORY = typer.Option(help="Model repository on the Hub, e.g. sentence-transformers/all-MiniLM-L6-v2")
_TASK = typer.Option(help="Task to serve, e.g. sentence-embeddings (default: the model's own)")
_REVISION = typer.Option(help="Branch, tag or commit of the repository")
_FRAMEWORK = typer.Option(help="Framework of the model weights")
_ACCELERATOR = typer.Option(help="Run the model on the CPU or a GPU")
_INSTANCE_TYPE = typer.Option(help="Instance type, as Inference Endpoints names it")
_INSTANCE_SIZE = typer.Option(help="Instance size, as Inference Endpoints names it")
_MIN_REPLICA = typer.Option(min=0, help="Fewest replicas; 0 lets the endpoint scale to zero")
_MAX_REPLICA = typer.Option(min=1, help="Most replicas")
_SCALE_TO_ZERO = typer.Option(
    "--scale-to-zero-timeout", min=1, metavar="MINUTES", help="Idle minutes before scaling to zero"
)
_ACCESS = typer.Option(
    "--type",
    help="Who may call it: anyone (public), any token (protected, or its new name authenticated), "
    "or only the admin and tokens granted it (private)",
)
_ENV = typer.Option(
    "--env", metavar="KEY=VALUE", help="Environment variable for the model (repeat for several)"
)
WaitOption = Annotated[bool, typer.Option(help="Wait until the endpoint is running and healthy")]
TimeoutOption = Annotated[float, typer.Option(min=1, help="How many seconds --wait waits")]


def _env_vars(pairs: list[str] | None) -> dict[str, str] | None:
    if pairs is None:
        return None
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise _fail(f"--env takes KEY=VALUE, not {pair!r}", 2)
        env[key] = value
    return env


@endpoints_app.command("create")
def endpoints_create(
    name: Annotated[str, typer.Argument(help="Endpoint name, unique on the server")],
    repository: Annotated[str, _REPOSITORY],
    task: Annotated[str | None, _TASK] = None,
    revision: Annotated[str | None, _REVISION] = None,
    framework: Annotated[str, _FRAMEWORK] = "pytorch",
    accelerator: Annotated[Accelerator, _ACCELERATOR] = Accelerator.CPU,
    instance_type: Annotated[str, _INSTANCE_TYPE] = "intel-icl",
    instance_size: Annotated[str, _INSTANCE_SIZE] = "x1",
    min_replica: Annotated[int, _MIN_REPLICA] = 1,
    max_replica: Annotated[int, _MAX_REPLICA] = 1,
    scale_to_zero_timeout: Annotated[int | None, _SCALE_TO_ZERO] = None,
    access: Annotated[Access, _ACCESS] = Access.PROTECTED,
    env: Annotated[list[str] | None, _ENV] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an endpoint that serves a model."""
    variables = _env_vars(env)
    with _connect(url, token, data_dir) as client:
        endpoint = client.create_endpoint(
            name,
            repository,
            task=task,
            revision=revision,
            framework=framework,
            accelerator=accelerator.value,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
            type=access.value,
            env=variables,
        )
        if wait:
            endpoint = client.wait_endpoint(name, timeout)
    _describe(endpoint, as_json)


@endpoints_app.command("list")
def endpoints_list(
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the endpoints."""
    with _connect(url, token, data_dir) as client:
        endpoints = client.list_endpoints()
    table = _table("name", "state", "repository", "task", "replicas", "url")
    for endpoint in endpoints:
        replicas = f"{endpoint.ready_replicas}/{endpoint.target_replicas}"
        table.add_row(
            endpoint.name, endpoint.state, endpoint.repository, endpoint.task, replicas, endpoint.url
        )
    _print(as_json, [dataclasses.asdict(endpoint) for endpoint in endpoints], table)


@endpoints_app.command("describe")
def endpoints_describe(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Describe an endpoint: its model, compute, state and URL."""
    with _connect(url, token, data_dir) as client:
        _describe(client.describe_endpoint(name), as_json)


@endpoints_app.command("update")
def endpoints_update(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    repository: Annotated[str | None, _REPOSITORY] = None,
    task: Annotated[str | None, _TASK] = None,
    revision: Annotated[str | None, _REVISION] = None,
    framework: Annotated[str | None, _FRAMEWORK] = None,
    accelerator: Annotated[Accelerator | None, _ACCELERATOR] = None,
    instance_type: Annotated[str | None, _INSTANCE_TYPE] = None,
    instance_size: Annotated[str | None, _INSTANCE_SIZE] = None,
    min_replica: Annotated[int | None, _MIN_REPLICA] = None,
    max_replica: Annotated[int | None, _MAX_REPLICA] = None,
    scale_to_zero_timeout: Annotated[int | None, _SCALE_TO_ZERO] = None,
    access: Annotated[Access | None, _ACCESS] = None,
    env: Annotated[list[str] | None, _ENV] = None,
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Change an endpoint; only the options given change."""
    variables = _env_vars(env)
    with _connect(url, token, data_dir) as client:
        endpoint = client.update_endpoint(
            name,
            repository=repository,
            task=task,
            revision=revision,
            framework=framework,
            accelerator=None if accelerator is None else accelerator.value,
            instance_type=instance_type,
            instance_size=instance_size,
            min_replica=min_replica,
            max_replica=max_replica,
            scale_to_zero_timeout=scale_to_zero_timeout,
            type=None if access is None else access.value,
            env=variables,
        )
        if wait:
            endpoint = client.wait_endpoint(name, timeout)
    _describe(endpoint, as_json)


@endpoints_app.command("pause")
def endpoints_pause(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Pause an endpoint: it stops serving and frees its model until resumed."""
    with _connect(url, token, data_dir) as client:
        _describe(client.pause_endpoint(name), as_json)


@endpoints_app.command("resume")
def endpoints_resume(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    wait: WaitOption = False,
    timeout: TimeoutOption = 300,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Resume a paused or scaled-to-zero endpoint; one already running is left as it is."""
    with _connect(url, token, data_dir) as client:
        endpoint = client.resume_endpoint(name)
        if wait:
            endpoint = client.wait_endpoint(name, timeout)
    _describe(endpoint, as_json)


@endpoints_app.command("scale-to-zero")
def endpoints_scale_to_zero(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Scale an endpoint to zero replicas now; the next request loads it again (503 until loaded)."""
    with _connect(url, token, data_dir) as client:
        _describe(client.scale_endpoint_to_zero(name), as_json)


@endpoints_app.command("delete")
def endpoints_delete(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking")] = False,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete an endpoint; it stops serving at once."""
    if not yes:
        typer.confirm(f"Delete endpoint {name}?", abort=True)
    with _connect(url, token, data_dir) as client:
        client.delete_endpoint(name)
    typer.echo(json.dumps({"deleted": name}) if as_json else f"deleted endpoint {name}")


@endpoints_app.command("logs")
def endpoints_logs(
    name: Annotated[str, typer.Argument(help="Endpoint name")],
    tail: Annotated[int, typer.Option(min=1, help="How many of the last lines")] = 100,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print an endpoint's last log lines, oldest first."""
    with _connect(url, token, data_dir) as client:
        lines = client.endpoint_logs(name, tail)
    typer.echo(json.dumps(lines, indent=2) if as_json else "\n".join(lines))


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
