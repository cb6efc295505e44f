"""Durable rows: one SQLite file per index, fronted by a journal.

A write is acknowledged once its entry is synced in the journal (:mod:`inferhouse.vectors.journal`),
so a vector the caller was told about survives ``kill -9`` and power loss. A background thread folds
journal entries into SQLite, many per transaction, recording in the same transaction how far it got;
opening a store first folds in whatever a crash left unapplied. Reads that go to SQLite (id listing,
the start-up scan) wait until it has caught up, so they always see every acknowledged write.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import orjson

from inferhouse.storage.sqlite import connect_durable
from inferhouse.vectors.journal import Journal, Position
from inferhouse.vectors.operations import (
    DeclareNamespace,
    Delete,
    DropNamespace,
    ForgetNamespace,
    Operation,
    Replace,
    SetMetadata,
    Upsert,
    decode,
    encode,
    upsert_of,
)
from inferhouse.vectors.rows import Metadata, RowBatch, SparseValues, VectorRow
from inferhouse.vectors.store_namespaces import NAMESPACES_TABLE, apply_namespace_operation, read_declared

log = logging.getLogger(__name__)

# A rowid table with a separate unique index: rows of a kilobyte or more append cheaply at the end of
# the table, while the index that finds them by id stays small (SQLite advises WITHOUT ROWID only for
# small rows).
_SCHEMA = [
    """
    CREATE TABLE IF NOT EXISTS vectors (
        namespace TEXT NOT NULL,
        id TEXT NOT NULL,
        dense BLOB NOT NULL,
        sparse_indices BLOB,
        sparse_values BLOB,
        metadata BLOB
    )
    """,
    "CREATE UNIQUE INDEX IF NOT EXISTS vectors_by_id ON vectors (namespace, id)",
    """
    CREATE TABLE IF NOT EXISTS journal_applied (
        only INTEGER PRIMARY KEY CHECK (only = 1),
        segment INTEGER NOT NULL,
        offset INTEGER NOT NULL
    )
    """,
    NAMESPACES_TABLE,
]

# A whole upsert is one statement over the blobs of :class:`Upsert`: SQLite inserts the batch in C
# without returning to Python for every row, so the applying thread rarely holds the GIL.
_INSERT_BATCH = """
INSERT OR REPLACE INTO vectors (namespace, id, dense, sparse_indices, sparse_values, metadata)
SELECT
    :namespace,
    json_extract(r.value, '$[0]'),
    substr(:dense, r.key * :row_bytes + 1, :row_bytes),
    iif(json_extract(r.value, '$[3]') IS NULL, NULL,
        substr(:sparse_indices, json_extract(r.value, '$[3]') * 4 + 1, json_extract(r.value, '$[4]') * 4)),
    iif(json_extract(r.value, '$[3]') IS NULL, NULL,
        substr(:sparse_values, json_extract(r.value, '$[3]') * 4 + 1, json_extract(r.value, '$[4]') * 4)),
    iif(json_extract(r.value, '$[1]') IS NULL, NULL,
        substr(:metadata, json_extract(r.value, '$[1]') + 1, json_extract(r.value, '$[2]')))
FROM json_each(:layout) AS r
ORDER BY r.key
"""
_INSERT_ROW = (
    "INSERT OR REPLACE INTO vectors (namespace, id, dense, sparse_indices, sparse_values, metadata) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_APPLY_BYTES = 32 << 20  # journal bytes folded into SQLite per transaction

Row = tuple[str, str, bytes, bytes | None, bytes | None, bytes | None]


def _to_row(namespace: str, record: VectorRow) -> Row:
    sparse = record.sparse
    return (
        namespace,
        record.id,
        record.values.astype("<f4", copy=False).tobytes(),
        sparse.indices.astype("<u4", copy=False).tobytes() if sparse else None,
        sparse.values.astype("<f4", copy=False).tobytes() if sparse else None,
        orjson.dumps(record.metadata) if record.metadata else None,
    )


def _from_row(row: Row) -> tuple[str, VectorRow]:
    namespace, vector_id, dense, sparse_indices, sparse_values, metadata = row
    sparse = None
    if sparse_indices is not None and sparse_values is not None:
        sparse = SparseValues(
            np.frombuffer(sparse_indices, dtype="<u4").astype(np.uint32),
            np.frombuffer(sparse_values, dtype="<f4").astype(np.float32),
        )
    values = np.frombuffer(dense, dtype="<f4").astype(np.float32)
    return namespace, VectorRow(vector_id, values, sparse, orjson.loads(metadata) if metadata else None)


def _batch_of(rows: list[Row]) -> RowBatch:
    # Read-only over the joined bytes, and no second copy where float32 is little-endian already.
    dense = np.frombuffer(b"".join([row[2] for row in rows]), dtype="<f4").astype(np.float32, copy=False)
    sparse: list[SparseValues | None] = [None] * len(rows)
    for position, row in enumerate(rows):
        if row[3] is not None:
            sparse[position] = _from_row(row)[1].sparse
    stored = [row[5] or None for row in rows]
    return RowBatch(
        [row[1] for row in rows],
        dense.reshape(len(rows), -1),
        sparse,
        [orjson.loads(json) if json else None for json in stored],
        stored,
    )


def journal_directory(path: Path) -> Path:
    return path.with_name(path.name + ".journal")


class VectorStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._db_lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Large pages: a 1.5 KB vector row fits many to a page, so a batch writes far fewer pages.
        self._conn = connect_durable(path, _SCHEMA, page_size=65536)
        self._journal = Journal(journal_directory(path))
        self._applied = self._applied_mark() or self._journal.start
        self._acknowledged = self._journal.end
        self._progress = threading.Condition()
        self._closing = False
        self._catch_up()  # a crash may have left acknowledged entries that SQLite has not seen
        with self._db_lock:
            # Namespaces created by name; kept in step by the writes below, under the caller's lock.
            self.declared: dict[str, Metadata | None] = read_declared(self._conn)
        self._applier = threading.Thread(target=self._apply_loop, name=f"store:{path.stem}", daemon=True)
        self._applier.start()
        # One writer thread: journal appends keep their order, and run while the caller does other work.
        self._writer = ThreadPoolExecutor(1, thread_name_prefix=f"journal:{path.stem}")

    # -- writes: journaled, acknowledged once synced -------------------------------------------------

    def upsert(self, namespace: str, batch: RowBatch) -> None:
        self.upsert_started(namespace, batch).result()

    def upsert_started(self, namespace: str, batch: RowBatch) -> Future[None]:
        """Start journaling ``batch`` on the writer thread; the future resolves once it is durable. The
        caller must leave ``batch`` alone until then."""
        return self._writer.submit(self._submit_upsert, namespace, batch)

    def _submit_upsert(self, namespace: str, batch: RowBatch) -> None:
        if len(batch):
            self._submit(upsert_of(namespace, batch))

    def replace_started(self, namespace: str, stale_ids: list[str], batch: RowBatch) -> Future[None]:
        """Like :meth:`upsert_started`, deleting ``stale_ids`` in the same journal entry (atomically)."""
        return self._writer.submit(
            lambda: self._submit(Replace(Delete(namespace, stale_ids), upsert_of(namespace, batch)))
        )

    def delete(self, namespace: str, ids: Iterable[str]) -> None:
        self._writer.submit(self._submit, Delete(namespace, list(ids))).result()

    def delete_namespace(self, namespace: str) -> None:
        self._writer.submit(self._submit, DropNamespace(namespace)).result()

    # -- the namespaces API's writes, each one journal entry ------------------------------------------

    def declare_namespace(self, namespace: str, schema: Metadata | None) -> None:
        self._writer.submit(self._submit, DeclareNamespace(namespace, schema)).result()
        self.declared[namespace] = schema

    def forget_namespace(self, namespace: str) -> None:
        """Delete a namespace's records and its declaration, atomically."""
        self._writer.submit(self._submit, ForgetNamespace(namespace)).result()
        self.declared.pop(namespace, None)

    def set_metadata(self, namespace: str, ids: list[str], patch: Metadata) -> None:
        """Merge ``patch`` into the metadata of every one of ``ids``: all of them or (on a crash) none."""
        self._writer.submit(self._submit, SetMetadata(namespace, ids, patch)).result()

    def _submit(self, operation: Operation) -> None:
        parts = encode(operation)
        with self._write_lock:
            end = self._journal.append(parts)
        with self._progress:
            self._acknowledged = max(self._acknowledged, end)
            self._progress.notify_all()

    # -- reads that SQLite answers ---------------------------------------------------------------------

    def list_ids(self, namespace: str, prefix: str, after: str | None, limit: int) -> list[str]:
        """Ids in ascending (code point) order, starting after ``after``, all beginning with ``prefix``."""
        self.settle()
        low = max(prefix, after or "")
        sql = "SELECT id FROM vectors WHERE namespace = ? AND id >= ?"
        params: list[object] = [namespace, low]
        if after is not None:
            sql += " AND id != ?"
            params.append(after)
        if prefix:
            sql += " AND id < ?"  # SQLite compares TEXT by UTF-8 bytes, which is code point order
            params.append(
                prefix[:-1] + chr(ord(prefix[-1]) + 1)
                if ord(prefix[-1]) < 0x10FFFF
                else prefix + "\U0010ffff"
            )
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        with self._db_lock:
            return [row[0] for row in self._conn.execute(sql, params)]

    def scan(self) -> Iterator[tuple[str, VectorRow]]:
        """Every stored record, for rebuilding the in-memory index at start-up."""
        self.settle()
        cursor = self._conn.execute(
            "SELECT namespace, id, dense, sparse_indices, sparse_values, metadata FROM vectors"
        )
        while batch := cursor.fetchmany(10_000):
            for row in batch:
                yield _from_row(row)

    def scan_batches(self, size: int = 10_000) -> Iterator[tuple[str, RowBatch]]:
        """Every stored record in batches of one namespace, built column-wise (one buffer per batch of
        vectors, not an array per row), for loading the index at start-up; rows in table order."""
        self.settle()
        cursor = self._conn.execute(
            "SELECT namespace, id, dense, sparse_indices, sparse_values, metadata FROM vectors"
        )
        while rows := cursor.fetchmany(size):
            namespaces = {row[0] for row in rows}
            for namespace in sorted(namespaces):
                group = rows if len(namespaces) == 1 else [row for row in rows if row[0] == namespace]
                yield namespace, _batch_of(group)

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until SQLite holds every write acknowledged so far; False if ``timeout`` ran out."""
        with self._progress:
            target = self._acknowledged
            return self._progress.wait_for(lambda: self._applied >= target or self._closing, timeout)

    # -- folding the journal into SQLite ---------------------------------------------------------------

    def _apply_loop(self) -> None:
        _lower_priority()
        while True:
            with self._progress:
                self._progress.wait_for(lambda: self._applied < self._acknowledged or self._closing)
                if self._applied >= self._acknowledged:
                    return  # closing, and nothing is left to fold in
            try:
                self._apply_some()
            except Exception:  # the entries stay in the journal; try again shortly
                log.exception("applying the journal of %s to SQLite failed", self.path.name)
                with self._progress:
                    if self._closing:
                        return
                    self._progress.wait(1.0)

    def _apply_some(self) -> None:
        with self._progress:
            start, end = self._applied, self._acknowledged
        payloads, reached = self._journal.read(start, end, _APPLY_BYTES)
        with self._db_lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for payload in payloads:
                    _apply(self._conn, decode(payload))
                self._conn.execute(
                    "INSERT OR REPLACE INTO journal_applied (only, segment, offset) VALUES (1, ?, ?)",
                    (reached.segment, reached.offset),
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        with self._progress:
            self._applied = reached
            self._progress.notify_all()
        self._journal.release_before(reached.segment)

    def _catch_up(self) -> None:
        while self._applied < self._acknowledged:
            self._apply_some()

    def _applied_mark(self) -> Position | None:
        with self._db_lock:
            row = self._conn.execute("SELECT segment, offset FROM journal_applied").fetchone()
        return None if row is None else Position(int(row[0]), int(row[1]))

    # -- lifetime -----------------------------------------------------------------------------------

    def close(self) -> None:
        """Fold in what is acknowledged, then close; anything left is replayed at the next open."""
        self._writer.shutdown(wait=True)
        with self._progress:
            self._closing = True
            self._progress.notify_all()
        self._applier.join()
        self._journal.close()
        with self._db_lock:
            self._conn.close()

    def destroy(self) -> None:
        self.close()
        remove_files(self.path)


def remove_files(path: Path) -> None:
    """Delete a store's database and journal, e.g. what a crash during a delete left behind."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    shutil.rmtree(journal_directory(path), ignore_errors=True)


def files_bytes(path: Path) -> int:
    """Bytes on disk of a store's database, its write-ahead files and its journal (0 for what is missing)."""
    files = [Path(str(path) + suffix) for suffix in ("", "-wal", "-shm")]
    journal = journal_directory(path)
    if journal.is_dir():
        files.extend(journal.iterdir())
    total = 0
    for file in files:
        with contextlib.suppress(FileNotFoundError):  # a file the journal just rotated away
            total += file.stat().st_size
    return total


def _lower_priority() -> None:
    """Folding into SQLite is background work: on Linux a thread can be niced on its own, so a bulk load
    keeps the cores for acknowledging writes and the applier catches up when they idle."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


def _apply(conn: sqlite3.Connection, operation: Operation) -> None:
    if isinstance(operation, Replace):
        _apply(conn, operation.delete)
        _apply(conn, operation.upsert)
    elif isinstance(operation, Upsert):
        if b"\\u0000" in operation.layout:
            # SQLite's JSON functions cut a text value at an escaped NUL; such batches go row by row.
            rows = [_to_row(operation.namespace, record) for record in operation.records()]
            conn.executemany(_INSERT_ROW, rows)
        else:
            conn.execute(_INSERT_BATCH, operation.sql_params())
    elif isinstance(operation, DeclareNamespace | ForgetNamespace | SetMetadata):
        apply_namespace_operation(conn, operation)
    elif isinstance(operation, Delete):
        conn.executemany(
            "DELETE FROM vectors WHERE namespace = ? AND id = ?",
            [(operation.namespace, i) for i in operation.ids],
        )
    else:
        conn.execute("DELETE FROM vectors WHERE namespace = ?", (operation.namespace,))
