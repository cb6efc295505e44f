"""Durable rows: one SQLite file per index. An upsert is acknowledged only after its transaction commits
with ``synchronous=FULL``, so a vector the caller was told about survives ``kill -9`` and power loss."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import orjson

from inferhouse.storage.sqlite import connect_durable
from inferhouse.vectors.records import SparseValues, VectorRecord

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
]

Row = tuple[str, str, bytes, bytes | None, bytes | None, bytes | None]


def _to_row(namespace: str, record: VectorRecord) -> Row:
    sparse = record.sparse
    return (
        namespace,
        record.id,
        record.values.astype("<f4", copy=False).tobytes(),
        sparse.indices.astype("<u4", copy=False).tobytes() if sparse else None,
        sparse.values.astype("<f4", copy=False).tobytes() if sparse else None,
        orjson.dumps(record.metadata) if record.metadata else None,
    )


def _from_row(row: Row) -> tuple[str, VectorRecord]:
    namespace, vector_id, dense, sparse_indices, sparse_values, metadata = row
    sparse = None
    if sparse_indices is not None and sparse_values is not None:
        sparse = SparseValues(
            np.frombuffer(sparse_indices, dtype="<u4").astype(np.uint32),
            np.frombuffer(sparse_values, dtype="<f4").astype(np.float32),
        )
    values = np.frombuffer(dense, dtype="<f4").astype(np.float32)
    return namespace, VectorRecord(vector_id, values, sparse, orjson.loads(metadata) if metadata else None)


class VectorStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = connect_durable(path, _SCHEMA)

    def upsert(self, namespace: str, records: Sequence[VectorRecord]) -> None:
        rows = [_to_row(namespace, record) for record in records]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO vectors (namespace, id, dense, sparse_indices, "
                    "sparse_values, metadata) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def delete(self, namespace: str, ids: Iterable[str]) -> None:
        params = [(namespace, vector_id) for vector_id in ids]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany("DELETE FROM vectors WHERE namespace = ? AND id = ?", params)
            self._conn.execute("COMMIT")

    def delete_namespace(self, namespace: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM vectors WHERE namespace = ?", (namespace,))

    def list_ids(self, namespace: str, prefix: str, after: str | None, limit: int) -> list[str]:
        """Ids in ascending (code point) order, starting after ``after``, all beginning with ``prefix``."""
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
        with self._lock:
            return [row[0] for row in self._conn.execute(sql, params)]

    def scan(self) -> Iterator[tuple[str, VectorRecord]]:
        """Every stored record, for rebuilding the in-memory index at start-up."""
        cursor = self._conn.execute(
            "SELECT namespace, id, dense, sparse_indices, sparse_values, metadata FROM vectors"
        )
        while batch := cursor.fetchmany(10_000):
            for row in batch:
                yield _from_row(row)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def destroy(self) -> None:
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
