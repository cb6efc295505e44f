"""The ``inferhouse`` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from inferhouse.settings import Settings

app = typer.Typer(help="Self-hosted Hugging Face model serving and vector search.", no_args_is_help=True)
token_app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
app.add_typer(token_app, name="token")

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Where state lives [env: INFERHOUSE_DATA_DIR]")
]


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
    host: Annotated[str | None, typer.Option(help="Address to listen on [env: INFERHOUSE_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on [env: INFERHOUSE_PORT]")] = None,
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


def main() -> None:
    app()


if __name__ == "__main__":
    main()
