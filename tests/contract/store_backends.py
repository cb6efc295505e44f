"""The four stores of one backend, opened together on one database, as the store contract tests use them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from inferhouse.auth import SqliteTokenTable, TokenTable
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.endpoints.store import EndpointStore
from inferhouse.inference.sqlite_store import SqliteInferenceStore
from inferhouse.inference.store import InferenceStore
from inferhouse.storage import Database
from inferhouse.vectors.catalog import IndexCatalog
from inferhouse.vectors.sqlite_catalog import SqliteIndexCatalog


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
