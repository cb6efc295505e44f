"""The backup catalog in the main SQLite database: one row per backup and per restore job, as JSON."""

from __future__ import annotations

import orjson

from inferhouse.storage import Database, as_bytes
from inferhouse.vectors.backup_catalog import Backup, RestoreJob

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS index_backups (
        backup_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        document BLOB NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS restore_jobs (
        job_id TEXT PRIMARY KEY,
        created_at REAL NOT NULL,
        document BLOB NOT NULL
    )
    """,
)


class SqliteBackupCatalog:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.declare(*TABLES)

    def load_backups(self) -> list[Backup]:
        rows = self._db.query("SELECT document FROM index_backups ORDER BY created_at, backup_id")
        return [Backup.from_document(orjson.loads(as_bytes(raw))) for (raw,) in rows]

    def find_backup(self, backup_id: str) -> Backup | None:
        rows = self._db.query("SELECT document FROM index_backups WHERE backup_id = ?", (backup_id,))
        return Backup.from_document(orjson.loads(as_bytes(rows[0][0]))) if rows else None

    def insert_backup(self, backup: Backup) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO index_backups (backup_id, created_at, document) VALUES (?, ?, ?)",
                (backup.backup_id, backup.created_at, orjson.dumps(backup.to_document())),
            )

    def delete_backup(self, backup_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM index_backups WHERE backup_id = ?", (backup_id,))

    def save_job(self, job: RestoreJob) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO restore_jobs (job_id, created_at, document) VALUES (?, ?, ?)",
                (job.restore_job_id, job.created_at, orjson.dumps(job.to_document())),
            )

    def load_jobs(self) -> list[RestoreJob]:
        rows = self._db.query("SELECT document FROM restore_jobs ORDER BY created_at, job_id")
        return [RestoreJob.from_document(orjson.loads(as_bytes(raw))) for (raw,) in rows]

    def find_job(self, job_id: str) -> RestoreJob | None:
        rows = self._db.query("SELECT document FROM restore_jobs WHERE job_id = ?", (job_id,))
        return RestoreJob.from_document(orjson.loads(as_bytes(rows[0][0]))) if rows else None
