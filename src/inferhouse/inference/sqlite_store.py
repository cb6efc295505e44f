"""Inference configurations in the main SQLite database; each sealed secret in its own column."""

from __future__ import annotations

import sqlite3

import orjson

from inferhouse.errors import AlreadyExists
from inferhouse.inference.config import InferenceConfig
from inferhouse.storage import Database, as_bytes

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS inference_configs (
        inference_id TEXT PRIMARY KEY,
        config BLOB NOT NULL,
        secret BLOB
    )
    """,
)


class SqliteInferenceStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.declare(*TABLES)

    def load_all(self) -> list[InferenceConfig]:
        rows = self._db.query("SELECT config FROM inference_configs ORDER BY inference_id")
        return [InferenceConfig.from_json(orjson.loads(as_bytes(raw))) for (raw,) in rows]

    def sealed_secret(self, inference_id: str) -> bytes | None:
        rows = self._db.query("SELECT secret FROM inference_configs WHERE inference_id = ?", (inference_id,))
        return as_bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def insert(self, config: InferenceConfig, sealed_secret: bytes | None) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO inference_configs (inference_id, config, secret) VALUES (?, ?, ?)",
                    (config.inference_id, orjson.dumps(config.to_json()), sealed_secret),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(f"Inference endpoint [{config.inference_id}] already exists") from None

    def delete(self, inference_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM inference_configs WHERE inference_id = ?", (inference_id,))
