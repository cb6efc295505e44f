"""What every command shares: settings, the token and client to talk to a server, output, options."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from contextlib import contextmanager
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
)
from inferhouse.client._transport import DEFAULT_BASE_URL
from inferhouse.settings import Settings

__all__ = [
    "DEFAULT_BASE_URL",
    "DataDirOption",
    "DatabaseUrlOption",
    "JsonOption",
    "NamespaceOption",
    "TokenOption",
    "UrlOption",
    "connect",
    "describe",
    "fail",
    "load_settings",
    "new_table",
    "print_result",
]

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Where state lives (env: INFERHOUSE_DATA_DIR)")
]
DatabaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="PostgreSQL for the server's state, postgresql://user:password@host:5432/db; else SQLite in "
        "the data directory (env: INFERHOUSE_DATABASE_URL)",
        show_default=False,
    ),
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


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given; invalid ones end the command (exit 2)."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        messages = "; ".join(problem["msg"].removeprefix("Value error, ") for problem in error.errors())
        typer.echo(f"error: {messages}", err=True)
        raise typer.Exit(2) from None


def _token(given: str | None, data_dir: Path | None) -> str | None:
    """The token to send: given, else the server's configured admin token, else the one it generated."""
    return given or saved_token(data_dir)


def saved_token(data_dir: Path | None = None) -> str | None:
    """The server's configured admin token, else the one it generated and saved in its data directory."""
    from inferhouse.auth import ADMIN_TOKEN_FILE

    settings = load_settings(data_dir=data_dir)
    if settings.admin_token:
        return settings.admin_token
    try:
        return (settings.data_dir / ADMIN_TOKEN_FILE).read_text().strip() or None
    except OSError:
        return None  # perhaps the server runs with auth off; else it answers 401, which we print


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` to stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextmanager
def connect(url: str, token: str | None, data_dir: Path | None) -> Iterator[Client]:
    """A client whose API and connection errors end the command with a one-line message."""
    import httpx

    client = Client(url, token=_token(token, data_dir))
    try:
        yield client
    except (InferhouseAPIError, EndpointNotReady) as error:
        raise fail(str(error)) from None
    except httpx.HTTPError as error:
        raise fail(f"cannot talk to {url}: {error}") from None
    finally:
        client.close()


def print_result(as_json: bool, data: object, table: Table | None) -> None:
    """Print ``data`` as JSON, or ``table`` when given and JSON was not asked for."""
    if as_json or table is None:
        typer.echo(json.dumps(data, indent=2))
    else:
        Console(markup=False).print(table)  # cells hold user data: "[x]" is text, not style


def new_table(*columns: str) -> Table:
    """A table with these columns, each folding long values."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def describe(item: IndexDescription | EndpointDescription, as_json: bool) -> None:
    """Print an index or endpoint as field/value rows."""
    data = dataclasses.asdict(item)
    table = new_table("field", "value")
    for key, value in data.items():
        table.add_row(key, "" if value is None else str(value))
    print_result(as_json, data, table)
