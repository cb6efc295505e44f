"""``inferhouse token``: manage API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from inferhouse.cli._common import DatabaseUrlOption, DataDirOption, fail, load_settings

app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)


@app.command("create")
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
    manage: Annotated[
        list[str] | None,
        typer.Option(
            "--manage",
            metavar="NAME",
            help="Scope the token to calling and managing this endpoint (update, pause, resume, "
            "scale to zero, delete, logs; repeat for several)",
            show_default=False,
        ),
    ] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create an API token and print it (only its hash is stored)."""
    from inferhouse.auth import TokenStore
    from inferhouse.errors import Unavailable
    from inferhouse.stores import open_stores

    settings = load_settings(data_dir=data_dir, database_url=database_url)
    try:
        stores = open_stores(settings)
    except Unavailable as error:
        raise fail(error.message) from None
    try:
        typer.echo(TokenStore(stores.tokens).create(name, endpoints=endpoint or (), manages=manage or ()))
    finally:
        stores.close()
