"""The ``inferhouse`` command: one typer app, a module per command or command group."""

from __future__ import annotations

import typer

from inferhouse.cli import chunk, endpoints, index_backups, indexes, ingest, serve, tokens

__all__ = ["app", "main"]

app = typer.Typer(help="Self-hosted Hugging Face model serving and vector search.", no_args_is_help=True)
app.command()(serve.serve)
app.command()(ingest.ingest)
app.command()(chunk.chunk)
app.add_typer(tokens.app, name="token")
index_backups.register(indexes.app)
app.add_typer(indexes.app, name="index")
app.add_typer(endpoints.app, name="endpoints")


def main() -> None:
    """Run the ``inferhouse`` command."""
    app()
