"""``inferhouse index``: create, inspect, query and delete vector indexes."""

from __future__ import annotations

import dataclasses
import json
from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from inferhouse.cli._common import (
    DEFAULT_BASE_URL,
    DataDirOption,
    JsonOption,
    NamespaceOption,
    TokenOption,
    UrlOption,
    connect,
    describe,
    fail,
    new_table,
    print_result,
)
from inferhouse.cli.index_transfer import index_export, index_import
from inferhouse.client import Match

app = typer.Typer(help="Create, inspect, query and delete vector indexes.", no_args_is_help=True)
# Bulk moves in Pinecone's import layout (cli/index_transfer.py).
app.command("import")(index_import)
app.command("export")(index_export)


class Quantization(StrEnum):
    """How the server keeps an index's vectors in memory (the inferhouse-quantization tag)."""

    NONE = "none"
    INT8 = "int8"
    BINARY = "binary"


@app.command("create")
def index_create(
    name: str,
    dimension: Annotated[int, typer.Option(min=1, help="Length of the vectors")],
    metric: Annotated[str, typer.Option(help="cosine, euclidean or dotproduct")] = "cosine",
    quantization: Annotated[
        Quantization,
        typer.Option(
            help="Keep float32 vectors in memory (none), or only 8-bit (int8) or 1-bit (binary) codes, "
            "with the float32 vectors in a file for exact scores; fixed once created"
        ),
    ] = Quantization.NONE,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an index."""
    chosen = None if quantization is Quantization.NONE else quantization.value  # none needs no tag
    with connect(url, token, data_dir) as client:
        describe(client.create_index(name, dimension, metric, quantization=chosen), as_json)


@app.command("list")
def index_list(
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """List the indexes."""
    with connect(url, token, data_dir) as client:
        indexes = client.list_indexes()
    table = new_table("name", "dimension", "metric", "quantization", "deletion protection")
    for index in indexes:
        table.add_row(
            index.name, str(index.dimension), index.metric, index.quantization, index.deletion_protection
        )
    print_result(as_json, [dataclasses.asdict(index) for index in indexes], table)


@app.command("describe")
def index_describe(
    name: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Describe an index."""
    with connect(url, token, data_dir) as client:
        describe(client.describe_index(name), as_json)


@app.command("stats")
def index_stats(
    name: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
    as_json: JsonOption = False,
) -> None:
    """Count an index's vectors, per namespace."""
    with connect(url, token, data_dir) as client:
        stats = client.index_stats(name)
    table = new_table("namespace", "vectors")
    table.caption = f"dimension {stats.dimension}"
    for namespace, count in sorted(stats.namespaces.items()):
        table.add_row(namespace or '""', str(count))
    table.add_section()
    table.add_row("all", str(stats.total_vector_count))
    print_result(as_json, dataclasses.asdict(stats), table)


@app.command("query")
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
        raise fail("give exactly one of --text or --id", 2)
    if text is not None and endpoint is None:
        raise fail("--text needs --endpoint, the endpoint that embeds it", 2)
    try:
        where = None if filter_json is None else json.loads(filter_json)
    except ValueError as error:
        raise fail(f"--filter is not JSON: {error}", 2) from None
    with connect(url, token, data_dir) as client:
        vector = None if text is None else client.embed(text, endpoint=endpoint or "")[0]
        matches = client.query(name, vector, vector_id, top_k=top_k, filter=where, namespace=namespace)
    print_result(as_json, [dataclasses.asdict(match) for match in matches], _matches_table(matches))


def _matches_table(matches: list[Match]) -> Table:
    table = new_table("id", "score", "text")
    for match in matches:
        text = match.metadata.get("text")
        table.add_row(match.id, f"{match.score:.4f}", text if isinstance(text, str) else "")
    return table


@app.command("delete")
def index_delete(
    name: str,
    url: UrlOption = DEFAULT_BASE_URL,
    token: TokenOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Delete an index and all its vectors."""
    with connect(url, token, data_dir) as client:
        client.delete_index(name)
    typer.echo(f"deleted index {name}")
