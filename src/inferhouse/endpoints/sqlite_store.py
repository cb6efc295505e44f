"""Endpoints in the main SQLite database: one row per endpoint, its config and state as JSON."""

from __future__ import annotations

import orjson

from inferhouse.endpoints.config import StoredEndpoint
from inferhouse.endpoints.store import check_revision, new_revision, revision_of
from inferhouse.storage import Database, as_bytes

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS endpoints (
        name TEXT PRIMARY KEY,
        config BLOB NOT NULL
    )
    """,
)


class SqliteEndpointStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.declare(*TABLES)

    def load_all(self) -> list[StoredEndpoint]:
        rows = self._db.query("SELECT config FROM endpoints ORDER BY name")
        return [StoredEndpoint.from_json(orjson.loads(as_bytes(raw))) for (raw,) in rows]

    def save(self, record: StoredEndpoint) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO endpoints (name, config) VALUES (?, ?)",
                (record.config.name, orjson.dumps(record.to_json())),
            )

    def edit(self, record: StoredEndpoint, expected: str | None) -> str:
        name, revision = record.config.name, new_revision()
        with self._db.transaction() as conn:  # BEGIN IMMEDIATE: no other writer until it commits
            row = conn.execute("SELECT config FROM endpoints WHERE name = ?", (name,)).fetchone()
            stored = None if row is None else revision_of(orjson.loads(as_bytes(row[0])))
            check_revision(name, stored, expected)
            conn.execute(
                "INSERT OR REPLACE INTO endpoints (name, config) VALUES (?, ?)",
                (name, orjson.dumps(record.to_json() | {"revision": revision})),
            )
        return revision

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))
