"""Backups of pgvector indexes: each backup a table, ``ih_backup_<id>``, beside the indexes' own.

Everything a backup or a restore writes is one transaction with its catalog row, so a server killed in
the middle leaves nothing behind (PostgreSQL rolls it back), and every server sharing the database sees
either the whole backup (or restored index) or none of it:

- a backup copies the index table with one ``INSERT ... SELECT``, a single statement and so a single
  snapshot of the table, while writes go on;
- a restore copies the backup's table into a new index table a range of pages at a time (reporting
  progress), adds the primary key, and inserts the index's catalog row; it holds an advisory lock named
  after its job, so another server can tell a running restore from one a crash ended.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg
from psycopg import sql

from inferhouse.errors import AlreadyExists
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.backup_catalog import READY, Backup, BackupCatalog, RestoreJob
from inferhouse.vectors.backup_storage import Progress
from inferhouse.vectors.catalog import to_document
from inferhouse.vectors.pgvector_index import Transactions
from inferhouse.vectors.pgvector_tables import table_name
from inferhouse.vectors.postgres_backup_catalog import insert_backup_row

_BACKUP_PREFIX = "ih_backup_"
_COPY_STEPS = 50  # progress reports over a restore's copy


def backup_table(backup_id: str) -> str:
    return _BACKUP_PREFIX + backup_id.replace("-", "")


def _lock_key(job: RestoreJob) -> str:
    return f"inferhouse-restore:{job.restore_job_id}"


class PgVectorBackups:
    def __init__(self, db: Transactions, catalog: BackupCatalog) -> None:
        self._db = db
        self._catalog = catalog

    def snapshot(self, index: SearchIndex, backup: Backup) -> Backup:
        source = sql.Identifier(table_name(backup.source.name))
        target = sql.Identifier(backup_table(backup.backup_id))
        with self._db.transaction() as conn:
            _end_with_client(conn)
            conn.execute(sql.SQL("CREATE TABLE {b} (LIKE {s})").format(b=target, s=source))
            conn.execute(sql.SQL("INSERT INTO {b} SELECT * FROM {s}").format(b=target, s=source))
            counted = conn.execute(
                sql.SQL("SELECT count(*), count(DISTINCT namespace) FROM {b}").format(b=target)
            ).fetchone()
            size = conn.execute(
                "SELECT pg_total_relation_size(to_regclass(%s))", (backup_table(backup.backup_id),)
            ).fetchone()
            assert counted is not None
            assert size is not None
            backup.record_count, backup.namespace_count = int(counted[0]), int(counted[1])
            backup.size_bytes = int(size[0] or 0)
            backup.status = READY
            insert_backup_row(conn, backup)  # published with its rows, in one commit
        return backup

    def remove(self, backup_id: str) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM index_backups WHERE backup_id = %s", (backup_id,))
            conn.execute(
                sql.SQL("DROP TABLE IF EXISTS {b}").format(b=sql.Identifier(backup_table(backup_id)))
            )

    def restore(self, backup: Backup, job: RestoreJob, progress: Progress) -> None:
        source_name = backup_table(backup.backup_id)
        source, target = sql.Identifier(source_name), sql.Identifier(table_name(job.target.name))
        with self._db.transaction() as conn:
            _end_with_client(conn)
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_lock_key(job),))
            # What a crash mid-delete of an index of this name left; the new catalog row below fails
            # (and this is rolled back) if another server published an index of this name meanwhile.
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {t}").format(t=target))
            conn.execute(sql.SQL("CREATE TABLE {t} (LIKE {b})").format(t=target, b=source))
            _copy_pages(conn, source_name, source, target, progress)
            conn.execute(sql.SQL("ALTER TABLE {t} ADD PRIMARY KEY (namespace, id)").format(t=target))
            progress(95.0)
            try:
                with conn.transaction():  # a savepoint, so the unique violation can be told apart
                    conn.execute(
                        "INSERT INTO indexes (name, config) VALUES (%s, %s)",
                        (job.target.name, orjson.dumps(to_document(job.target))),
                    )
            except psycopg.errors.UniqueViolation:
                raise AlreadyExists(f"Resource {job.target.name} already exists") from None

    def running_elsewhere(self, job: RestoreJob) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))", (_lock_key(job),)).fetchone()
        return row is None or not row[0]

    def abandon(self, job: RestoreJob, keep_target: bool) -> None:
        """Nothing to do: the restore's transaction ended with its server."""

    def clean(self) -> None:
        kept = {backup_table(backup.backup_id) for backup in self._catalog.load_backups()}
        with self._db.transaction() as conn:
            rows = conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() "
                "AND starts_with(tablename, %s)",
                (_BACKUP_PREFIX,),
            ).fetchall()
            for (name,) in rows:
                if name not in kept:
                    conn.execute(sql.SQL("DROP TABLE IF EXISTS {b}").format(b=sql.Identifier(name)))


def _end_with_client(conn: psycopg.Connection[Any]) -> None:
    """A server killed mid-statement: PostgreSQL notices within a second and rolls back, releasing the
    restore's advisory lock, instead of running the statement to its end first."""
    conn.execute("SET LOCAL client_connection_check_interval = '1s'")


def _copy_pages(
    conn: psycopg.Connection[Any],
    source_name: str,
    source: sql.Identifier,
    target: sql.Identifier,
    progress: Progress,
) -> None:
    """Copy every row, a range of the backup table's pages at a time (a TID range scan reads only those)."""
    row = conn.execute(
        "SELECT pg_relation_size(to_regclass(%s)) / current_setting('block_size')::bigint", (source_name,)
    ).fetchone()
    pages = int(row[0]) if row and row[0] is not None else 0
    step = max(1, -(-pages // _COPY_STEPS))
    statement = sql.SQL("INSERT INTO {t} SELECT * FROM {b} WHERE ctid >= %s::tid AND ctid < %s::tid").format(
        t=target, b=source
    )
    for start in range(0, pages, step):
        conn.execute(statement, (f"({start},0)", f"({start + step},0)"))
        progress(90.0 * min(start + step, pages) / pages)
