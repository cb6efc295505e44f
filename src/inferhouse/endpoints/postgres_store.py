"""Endpoints in PostgreSQL: the table of ``endpoints/migrations/``, one row per endpoint, its config and
state as JSON, as in SQLite."""

from __future__ import annotations

from pathlib import Path

import orjson

from inferhouse.endpoints.config import StoredEndpoint
from inferhouse.storage.postgres import PostgresDatabase

MIGRATIONS = Path(__file__).parent / "migrations"


class PostgresEndpointStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        db.migrate(MIGRATIONS)

    def load_all(self) -> list[StoredEndpoint]:
        rows = self._db.query('SELECT config FROM endpoints ORDER BY name COLLATE "C"')
        return [StoredEndpoint.from_json(orjson.loads(raw)) for (raw,) in rows]

    def save(self, record: StoredEndpoint) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO endpoints (name, config) VALUES (%s, %s) "
                "ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config",
                (record.config.name, orjson.dumps(record.to_json())),
            )

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM endpoints WHERE name = %s", (name,))
