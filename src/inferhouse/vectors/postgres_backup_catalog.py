"""The backup catalog in PostgreSQL (the tables of ``vectors/migrations/``), as in SQLite.

:func:`insert_backup_row` takes the caller's connection, so the pgvector backups publish a backup's
row in the same transaction that copies its rows (:mod:`~inferhouse.vectors.pgvector_backups`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import psycopg

from inferhouse.storage.postgres import PostgresDatabase
from inferhouse.vectors.backup_catalog import Backup, RestoreJob

MIGRATIONS = Path(__file__).parent / "migrations"


def insert_backup_row(conn: psycopg.Connection[Any], backup: Backup) -> None:
    conn.execute(
        "INSERT INTO index_backups (backup_id, created_at, document) VALUES (%s, %s, %s)",
        (backup.backup_id, backup.created_at, orjson.dumps(backup.to_document())),
    )


class PostgresBackupCatalog:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        db.migrate(MIGRATIONS)

    def load_backups(self) -> list[Backup]:
        rows = self._db.query("SELECT document FROM index_backups ORDER BY created_at, backup_id")
        return [Backup.from_document(orjson.loads(raw)) for (raw,) in rows]

    def find_backup(self, backup_id: str) -> Backup | None:
        rows = self._db.query("SELECT document FROM index_backups WHERE backup_id = %s", (backup_id,))
        return Backup.from_document(orjson.loads(rows[0][0])) if rows else None

    def insert_backup(self, backup: Backup) -> None:
        with self._db.transaction() as conn:
            insert_backup_row(conn, backup)

    def delete_backup(self, backup_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM index_backups WHERE backup_id = %s", (backup_id,))

    def save_job(self, job: RestoreJob) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO restore_jobs (job_id, created_at, document) VALUES (%s, %s, %s) "
                "ON CONFLICT (job_id) DO UPDATE SET document = EXCLUDED.document",
                (job.restore_job_id, job.created_at, orjson.dumps(job.to_document())),
            )

    def load_jobs(self) -> list[RestoreJob]:
        rows = self._db.query("SELECT document FROM restore_jobs ORDER BY created_at, job_id")
        return [RestoreJob.from_document(orjson.loads(raw)) for (raw,) in rows]

    def find_job(self, job_id: str) -> RestoreJob | None:
        rows = self._db.query("SELECT document FROM restore_jobs WHERE job_id = %s", (job_id,))
        return RestoreJob.from_document(orjson.loads(rows[0][0])) if rows else None
