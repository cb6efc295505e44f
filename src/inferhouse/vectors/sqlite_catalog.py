"""The index catalog in the main SQLite database: one row per index, its configuration as JSON."""

from __future__ import annotations

import sqlite3

import orjson

from inferhouse.errors import AlreadyExists
from inferhouse.storage import Database, as_bytes
from inferhouse.vectors.catalog import from_document, to_document
from inferhouse.vectors.index import IndexConfig

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS indexes (
        name TEXT PRIMARY KEY,
        config BLOB NOT NULL
    )
    """,
)


class SqliteIndexCatalog:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.declare(*TABLES)

    def load_all(self) -> list[IndexConfig]:
        rows = self._db.query("SELECT config FROM indexes ORDER BY name")
        return [from_document(orjson.loads(as_bytes(raw))) for (raw,) in rows]

    def insert(self, config: IndexConfig) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO indexes (name, config) VALUES (?, ?)",
                    (config.name, orjson.dumps(to_document(config))),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"Resource {config.name} already exists") from None

    def update(self, config: IndexConfig) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE indexes SET config = ? WHERE name = ?",
                (orjson.dumps(to_document(config)), config.name),
            )

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM indexes WHERE name = ?", (name,))
