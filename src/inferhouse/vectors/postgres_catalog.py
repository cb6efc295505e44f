"""The index catalog in PostgreSQL: the table of ``vectors/migrations/``, one row per index, its
configuration as JSON, as in SQLite."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg

from inferhouse.errors import AlreadyExists
from inferhouse.storage.postgres import PostgresDatabase
from inferhouse.vectors.catalog import from_document, to_document
from inferhouse.vectors.index import IndexConfig

MIGRATIONS = Path(__file__).parent / "migrations"


class PostgresIndexCatalog:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        db.migrate(MIGRATIONS)

    def load_all(self) -> list[IndexConfig]:
        rows = self._db.query('SELECT config FROM indexes ORDER BY name COLLATE "C"')
        return [from_document(orjson.loads(raw)) for (raw,) in rows]

    def insert(self, config: IndexConfig) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO indexes (name, config) VALUES (%s, %s)",
                    (config.name, orjson.dumps(to_document(config))),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"Resource {config.name} already exists") from None

    def update(self, config: IndexConfig) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE indexes SET config = %s WHERE name = %s",
                (orjson.dumps(to_document(config)), config.name),
            )

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM indexes WHERE name = %s", (name,))
