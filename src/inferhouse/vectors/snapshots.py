"""One consistent read of a whole index, in (namespace, id) order, for exports.

- ``embedded``: the store is settled (SQLite holds every write acknowledged so far), then a read
  transaction on a connection of its own reads the file; WAL keeps that transaction's view fixed while
  the store goes on applying later writes, so the read is one moment of the index and blocks no writer.
- ``pgvector``: one ``REPEATABLE READ`` transaction, read through a server-side cursor.

:data:`READERS` names the reader of each storage backend.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson

from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.exporter import Chunk
from inferhouse.vectors.index import VectorIndex

if TYPE_CHECKING:
    from inferhouse.storage.postgres import PostgresDatabase

FETCH_ROWS = 10_000
# vector_send: pgvector's binary form of a vector (a 4-byte header, then big-endian float32 values).
_PG_SELECT = (
    "SELECT namespace, id, vector_send(embedding), sparse::text, NULL, metadata::text FROM {table} "
    "ORDER BY namespace, id"
)

# (index, the PostgreSQL database or None) -> its rows
SnapshotReader = Callable[[SearchIndex, "PostgresDatabase | None"], Iterator[Chunk]]


def embedded_rows(index: SearchIndex, postgres: PostgresDatabase | None = None) -> Iterator[Chunk]:
    if not isinstance(index, VectorIndex):
        raise TypeError("the embedded snapshot reads a VectorIndex")
    index.store.settle()
    # A streamed reply may resume the read on another thread; one thread reads at a time.
    conn = sqlite3.connect(
        f"file:{index.store.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute("BEGIN")
        cursor = conn.execute(
            "SELECT namespace, id, dense, sparse_indices, sparse_values, metadata FROM vectors "
            "ORDER BY namespace, id"
        )
        dimension = index.config.dimension
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from _chunks(rows, dimension, _sparse_blobs, _metadata_bytes, "<f4")
        conn.execute("COMMIT")
    finally:
        conn.close()


def pgvector_rows(index: SearchIndex, postgres: PostgresDatabase | None) -> Iterator[Chunk]:
    if postgres is None:
        raise TypeError("the pgvector snapshot needs the PostgreSQL database")
    from inferhouse.vectors.pgvector_tables import table_name  # psycopg: the optional postgres extra

    query = _PG_SELECT.format(table=f'"{table_name(index.config.name)}"')
    with postgres.transaction() as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        with conn.cursor(name="inferhouse_export", binary=True) as cursor:
            cursor.execute(query)
            while rows := cursor.fetchmany(FETCH_ROWS):
                yield from _chunks(rows, index.config.dimension, _sparse_json, _metadata_text, ">f4", skip=4)


READERS: dict[str, SnapshotReader] = {"embedded": embedded_rows, "pgvector": pgvector_rows}


def _chunks(
    rows: list[Any],
    dimension: int,
    sparse_of: Callable[[Any, Any], tuple[Any, Any] | None],
    metadata_of: Callable[[Any], str | None],
    dense_type: str,
    skip: int = 0,
) -> Iterator[Chunk]:
    """``rows`` (namespace, id, dense bytes, sparse a, sparse b, metadata) cut where the namespace changes."""
    start = 0
    for end in range(1, len(rows) + 1):
        if end < len(rows) and rows[end][0] == rows[start][0]:
            continue
        part = rows[start:end]
        dense = b"".join(bytes(row[2])[skip:] for row in part)
        values = np.frombuffer(dense, dtype=dense_type).astype(np.float32).reshape(len(part), dimension)
        yield Chunk(
            namespace=part[0][0],
            ids=[row[1] for row in part],
            values=values,
            sparse=[sparse_of(row[3], row[4]) for row in part],
            metadata=[metadata_of(row[5]) for row in part],
        )
        start = end


def _sparse_blobs(indices: bytes | None, values: bytes | None) -> tuple[Any, Any] | None:
    if indices is None or values is None:
        return None
    return np.frombuffer(indices, dtype="<u4"), np.frombuffer(values, dtype="<f4")


def _sparse_json(text: str | None, _: object) -> tuple[Any, Any] | None:
    if text is None:
        return None
    parsed = orjson.loads(text)
    return np.asarray(parsed["indices"], dtype=np.uint32), np.asarray(parsed["values"], dtype=np.float32)


def _metadata_bytes(raw: bytes | None) -> str | None:
    return None if raw is None else bytes(raw).decode()


def _metadata_text(text: str | None) -> str | None:
    return text


class IndexSnapshots:
    """Consistent reads of the indexes of one storage backend (``embedded`` or ``pgvector``)."""

    def __init__(self, storage: str, postgres: PostgresDatabase | None = None) -> None:
        self._reader = READERS[storage]
        self._postgres = postgres

    def rows(self, index: SearchIndex) -> Iterator[Chunk]:
        """``index``'s rows in (namespace, id) order, from one snapshot."""
        return self._reader(index, self._postgres)
