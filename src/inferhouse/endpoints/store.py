"""Endpoints and their states in the main database, so they come back after a restart."""

from __future__ import annotations

import orjson

from inferhouse.endpoints.config import StoredEndpoint
from inferhouse.storage import Database


class EndpointStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    def load_all(self) -> list[StoredEndpoint]:
        rows = self._db.query("SELECT config FROM endpoints ORDER BY name")
        return [StoredEndpoint.from_json(orjson.loads(_bytes(raw))) for (raw,) in rows]

    def save(self, record: StoredEndpoint) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO endpoints (name, config) VALUES (?, ?)",
                (record.config.name, orjson.dumps(record.to_json())),
            )

    def delete(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM endpoints WHERE name = ?", (name,))


def _bytes(raw: object) -> bytes:
    return bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
