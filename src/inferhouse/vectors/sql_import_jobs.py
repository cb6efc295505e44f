"""Import records in the state database: one table, ``import_jobs``, in SQLite or in PostgreSQL.

Both speak the same SQL but for the parameter marker, so one class serves both: SQLite's table is declared
here, PostgreSQL's is ``migrations/vectors_0004_import_jobs.sql``. Every change that depends on a
record's status checks it in the same statement (``WHERE status IN running``), so a cancel and the
runner's next progress report cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inferhouse.storage import Database
from inferhouse.vectors.import_jobs import COLUMNS, ImportJob, ImportStatus, from_row, to_row

if TYPE_CHECKING:
    from inferhouse.storage.postgres import PostgresDatabase

MIGRATIONS = Path(__file__).parent / "migrations"

TABLES = (
    """
    CREATE TABLE IF NOT EXISTS import_jobs (
        number INTEGER PRIMARY KEY,
        index_name TEXT NOT NULL,
        uri TEXT NOT NULL,
        error_mode TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at REAL NOT NULL,
        total_records INTEGER NOT NULL,
        records_read INTEGER NOT NULL,
        records_imported INTEGER NOT NULL,
        records_skipped INTEGER NOT NULL,
        finished_at REAL,
        error TEXT,
        heartbeat REAL NOT NULL
    )
    """,
    "CREATE INDEX IF NOT EXISTS import_jobs_by_index ON import_jobs (index_name, number)",
)

_RUNNING = f"status IN ('{ImportStatus.PENDING.value}', '{ImportStatus.IN_PROGRESS.value}')"
_ALL = "number, " + ", ".join(COLUMNS)


class SqlImportJobs:
    """:class:`~inferhouse.vectors.import_jobs.ImportJobStore` over a database whose ``transaction()``
    yields a connection with ``execute(sql, params)``; ``marker`` is its parameter placeholder."""

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[Any]],
        marker: str,
        serialize_numbers: str | None = None,
    ) -> None:
        self._transaction = transaction
        self._marker = marker
        self._serialize_numbers = serialize_numbers  # run before numbering, where inserts may race

    def _sql(self, text: str) -> str:
        return text.replace("?", self._marker)

    def _rows(self, text: str, params: tuple[object, ...]) -> Iterator[tuple[Any, ...]]:
        with self._transaction() as conn:
            yield from conn.execute(self._sql(text), params).fetchall()

    def insert(self, job: ImportJob) -> ImportJob:
        with self._transaction() as conn:
            if self._serialize_numbers:
                conn.execute(self._serialize_numbers)
            found = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM import_jobs").fetchone()
            number = int(found[0])
            placeholders = ", ".join([self._marker] * (len(COLUMNS) + 1))
            conn.execute(f"INSERT INTO import_jobs ({_ALL}) VALUES ({placeholders})", (number, *to_row(job)))
        job.id = str(number)
        return job

    def get(self, job_id: str) -> ImportJob | None:
        if not job_id.isdecimal() or len(job_id) > 18:
            return None
        rows = list(self._rows(f"SELECT {_ALL} FROM import_jobs WHERE number = ?", (int(job_id),)))
        return from_row(rows[0]) if rows else None

    def list(self, index: str, after: int, limit: int) -> list[ImportJob]:
        rows = self._rows(
            f"SELECT {_ALL} FROM import_jobs WHERE index_name = ? AND number > ? ORDER BY number LIMIT ?",
            (index, after, limit),
        )
        return [from_row(row) for row in rows]

    def progress(self, job: ImportJob) -> bool:
        return self._update_running(job)

    def finish(self, job: ImportJob) -> bool:
        return self._update_running(job)

    def _update_running(self, job: ImportJob) -> bool:
        assignments = ", ".join(f"{column} = ?" for column in COLUMNS)
        with self._transaction() as conn:
            cursor = conn.execute(
                self._sql(f"UPDATE import_jobs SET {assignments} WHERE number = ? AND {_RUNNING}"),
                (*to_row(job), int(job.id)),
            )
            return bool(cursor.rowcount)

    def cancel(self, job_id: str, now: float) -> bool:
        with self._transaction() as conn:
            cursor = conn.execute(
                self._sql(
                    f"UPDATE import_jobs SET status = ?, finished_at = ? WHERE number = ? AND {_RUNNING}"
                ),
                (ImportStatus.CANCELLED.value, now, int(job_id)),
            )
            return bool(cursor.rowcount)

    def fail_stale(self, before: float, now: float, reason: str) -> int:
        with self._transaction() as conn:
            cursor = conn.execute(
                self._sql(
                    "UPDATE import_jobs SET status = ?, finished_at = ?, error = ? "
                    f"WHERE heartbeat < ? AND {_RUNNING}"
                ),
                (ImportStatus.FAILED.value, now, reason, before),
            )
            return int(cursor.rowcount)


def sqlite_import_jobs(db: Database) -> SqlImportJobs:
    """Import records in the main SQLite database (one server: BEGIN IMMEDIATE orders the inserts)."""
    db.declare(*TABLES)
    return SqlImportJobs(db.transaction, "?")


def postgres_import_jobs(db: PostgresDatabase) -> SqlImportJobs:
    """Import records in PostgreSQL, shared by every server on that database."""
    db.migrate(MIGRATIONS)
    return SqlImportJobs(db.transaction, "%s", "LOCK TABLE import_jobs IN SHARE ROW EXCLUSIVE MODE")
