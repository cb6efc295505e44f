"""Inference configurations in PostgreSQL: the table of ``inference/migrations/``, each sealed secret in
its own column, as in SQLite."""

from __future__ import annotations

from pathlib import Path

import orjson
import psycopg

from inferhouse.errors import AlreadyExists
from inferhouse.inference.config import InferenceConfig
from inferhouse.storage.postgres import PostgresDatabase

MIGRATIONS = Path(__file__).parent / "migrations"


class PostgresInferenceStore:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        db.migrate(MIGRATIONS)

    def load_all(self) -> list[InferenceConfig]:
        rows = self._db.query('SELECT config FROM inference_configs ORDER BY inference_id COLLATE "C"')
        return [InferenceConfig.from_json(orjson.loads(raw)) for (raw,) in rows]

    def sealed_secret(self, inference_id: str) -> bytes | None:
        rows = self._db.query("SELECT secret FROM inference_configs WHERE inference_id = %s", (inference_id,))
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def insert(self, config: InferenceConfig, sealed_secret: bytes | None) -> None:
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO inference_configs (inference_id, config, secret) VALUES (%s, %s, %s)",
                    (config.inference_id, orjson.dumps(config.to_json()), sealed_secret),
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists(f"Inference endpoint [{config.inference_id}] already exists") from None

    def delete(self, inference_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM inference_configs WHERE inference_id = %s", (inference_id,))
