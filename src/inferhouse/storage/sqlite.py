"""One SQLite file per data directory, shared by every service that keeps state.

This module knows no tables: each package that stores state declares its own (``Database.declare``) in
its SQLite implementation (``endpoints/sqlite_store.py``, ``inference/sqlite_store.py``,
``vectors/sqlite_catalog.py``, ``auth/sqlite_table.py``). A package whose tables change later lists its
schema as numbered steps instead (``Database.migrate``), as its PostgreSQL side numbers its SQL files.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from inferhouse.storage.private import create_owner_only


def connect_durable(path: Path, schema: list[str], page_size: int | None = None) -> sqlite3.Connection:
    """A connection in WAL mode whose every commit is on disk before it returns, with ``schema`` applied.

    ``page_size`` applies only when the file is new. Transactions are explicit (``isolation_level=None``);
    callers serialise use with their own lock.
    """
    create_owner_only(path)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    if page_size is not None:
        conn.execute(f"PRAGMA page_size={int(page_size)}")  # must precede WAL mode and the first table
    conn.execute("PRAGMA journal_mode=WAL")
    # FULL makes every acknowledged commit survive a power cut, not just a process crash.
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    for statement in schema:
        conn.execute(statement)
    return conn


class Database:
    """A thread-safe handle on ``<data_dir>/inferhouse.db`` in WAL mode with durable commits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = connect_durable(path, [])

    def declare(self, *statements: str) -> None:
        """Run an owner's DDL (``CREATE TABLE IF NOT EXISTS ...``): idempotent, so every store declares
        its tables when it is built and a data directory written by an older version opens unchanged."""
        with self.transaction() as conn:
            for statement in statements:
                conn.execute(statement)

    def migrate(self, owner: str, steps: Sequence[Sequence[str]]) -> None:
        """Run the numbered ``steps`` of ``owner``'s schema not yet run on this database, each step's
        statements in one transaction with the record of it (``schema_versions``), so reopening
        changes nothing. A database from before ``owner`` counted its steps runs them all: the first
        must therefore be idempotent (``CREATE TABLE IF NOT EXISTS``), as ``declare``'s DDL is."""
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_versions "
                "(owner TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
        for number, statements in enumerate(steps, start=1):
            with self.transaction() as conn:
                row = conn.execute("SELECT version FROM schema_versions WHERE owner = ?", (owner,)).fetchone()
                if row is not None and int(row[0]) >= number:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_versions (owner, version) VALUES (?, ?) "
                    "ON CONFLICT (owner) DO UPDATE SET version = excluded.version",
                    (owner, number),
                )

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Database:
        return cls(data_dir / "inferhouse.db")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def as_bytes(raw: object) -> bytes:
    """A BLOB column's value as bytes (a row written as TEXT by hand still reads)."""
    return bytes(raw) if isinstance(raw, bytes | bytearray) else str(raw).encode()
