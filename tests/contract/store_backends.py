"""The four stores of one backend, opened together on one database, as the store contract tests use them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inferhouse.auth import SqliteTokenTable, TokenTable
from inferhouse.auth.postgres_table import PostgresTokenTable
from inferhouse.endpoints.postgres_store import PostgresEndpointStore
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.endpoints.store import EndpointStore
from inferhouse.inference.postgres_store import PostgresInferenceStore
from inferhouse.inference.sqlite_store import SqliteInferenceStore
from inferhouse.inference.store import InferenceStore
from inferhouse.storage import Database
from inferhouse.storage.postgres import PostgresDatabase
from inferhouse.vectors.catalog import IndexCatalog
from inferhouse.vectors.postgres_catalog import PostgresIndexCatalog
from inferhouse.vectors.sqlite_catalog import SqliteIndexCatalog
from tests.support.postgres import PostgresServer


@dataclass
class Stores:
    endpoints: EndpointStore
    inference: InferenceStore
    indexes: IndexCatalog
    tokens: TokenTable
    # Every row the backend holds, as text: what someone who copies the database reads.
    dump: Callable[[], str]
    close: Callable[[], None]


# Opens the stores on the database kept under a directory: fresh the first time, the same data after.
StoreOpener = Callable[[Path], Stores]


def open_sqlite(directory: Path) -> Stores:
    db = Database.in_data_dir(directory)
    return Stores(
        endpoints=SqliteEndpointStore(db),
        inference=SqliteInferenceStore(db),
        indexes=SqliteIndexCatalog(db),
        tokens=SqliteTokenTable(db),
        dump=lambda: _dump_sqlite(db.path),
        close=db.close,
    )


def _dump_sqlite(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in conn.execute(f"SELECT * FROM {table}"))
    finally:
        conn.close()


def open_postgres(server: PostgresServer, directory: Path) -> Stores:
    """The stores on a database of this directory's own on the session's PostgreSQL."""
    db = PostgresDatabase(server.database_for(str(directory)))
    return Stores(
        endpoints=PostgresEndpointStore(db),
        inference=PostgresInferenceStore(db),
        indexes=PostgresIndexCatalog(db),
        tokens=PostgresTokenTable(db),
        dump=lambda: _dump_postgres(db),
        close=db.close,
    )


def _dump_postgres(db: PostgresDatabase) -> str:
    tables = db.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    return "\n".join(repr(row) for (table,) in tables for row in db.query(f'SELECT * FROM "{table}"'))
