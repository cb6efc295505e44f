"""``inferhouse serve``: run the server."""

from __future__ import annotations

import logging
import os
from typing import Annotated

import typer

from inferhouse.cli._common import DatabaseUrlOption, DataDirOption, load_settings


def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (env: INFERHOUSE_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (env: INFERHOUSE_PORT)")] = None,
    data_dir: DataDirOption = None,
    database_url: DatabaseUrlOption = None,
    vector_store: Annotated[
        str | None,
        typer.Option(help="Where indexes keep vectors: embedded or pgvector (env: INFERHOUSE_VECTOR_STORE)"),
    ] = None,
    runtime: Annotated[
        str | None,
        typer.Option(help="Where endpoint replicas run: inprocess or ray (env: INFERHOUSE_RUNTIME)"),
    ] = None,
    access_log: Annotated[bool, typer.Option(help="Log every request")] = False,
) -> None:
    """Start the server: the default embedding endpoint, then every API on one port."""
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
    from inferhouse.storage.private import OWNER_ONLY_UMASK

    os.umask(OWNER_ONLY_UMASK)  # what the server writes into its data dir is for its owner only
    settings = load_settings(
        host=host,
        port=port,
        data_dir=data_dir,
        database_url=database_url,
        vector_store=vector_store,
        runtime=runtime,
    )
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    _raise_open_files_limit()
    if settings.torch_threads:
        import torch

        torch.set_num_threads(settings.torch_threads)
    import uvicorn

    from inferhouse.app import create_app
    from inferhouse.storage.postgres import redacted

    state = redacted(settings.database_url) if settings.database_url else "SQLite"
    logging.getLogger("inferhouse").info(
        "inferhouse listens on http://%s:%d (data in %s, state in %s); open the dashboard at http://%s:%d/ui",
        settings.host,
        settings.port,
        settings.data_dir,
        state,
        settings.host,
        settings.port,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )


def _raise_open_files_limit() -> None:
    """Lift the soft limit on open files (often 1024) to the hard one: each namespace of a quantized
    index holds its vector file open (one descriptor), so about a thousand namespaces would otherwise
    exhaust it and the index would fail to open."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 1 << 20  # Linux refuses more than nr_open
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError) as error:
            logging.getLogger("inferhouse").warning("could not raise the open files limit: %s", error)
