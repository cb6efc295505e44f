"""Endpoints in PostgreSQL: the table of ``endpoints/migrations/``, one row per endpoint, its config and
state as JSON, as in SQLite."""

from __future__ import annotations

from pathlib import Path

import orjson

from inferhouse.endpoints.config import StoredEndpoint
from inferhouse.endpoints.store import check_revision, new_revision, revision_of
from inferhouse.errors import AlreadyExists
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

    def edit(self, record: StoredEndpoint, expected: str | None) -> str:
        import psycopg

        name, revision = record.config.name, new_revision()
        stored_json = orjson.dumps(record.to_json() | {"revision": revision})
        try:
            with self._db.transaction() as conn:
                # FOR UPDATE holds the row until this commits: a concurrent edit waits, then sees ours.
                row = conn.execute(
                    "SELECT config FROM endpoints WHERE name = %s FOR UPDATE", (name,)
                ).fetchone()
                check_revision(name, None if row is None else revision_of(orjson.loads(row[0])), expected)
                if row is None:  # a plain INSERT: of two creating at once, the second fails below
                    conn.execute("INSERT INTO endpoints (name, config) VALUES (%s, %s)", (name, stored_json))
                else:
                    conn.execute("UPDATE endpoints SET config = %s WHERE name = %s", (stored_json, name))
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"Endpoint {name} already exists") from None  # another server was first
        return revision

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM endpoints WHERE name = %s", (name,))
