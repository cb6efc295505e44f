"""pgvector's ``vector`` values on the wire in their binary form, not as decimal text.

Writing 384 floats as text in Python and parsing them back in PostgreSQL cost more than storing the row:
below the graph threshold a batch of 1,000 rows loaded at about 4,500 rows/s as text and 45,000 as
binary (benchmarks/README.md). The binary form is pgvector's own send/receive format (the dimension and
a reserved zero as big-endian 16-bit integers, then the values as big-endian float32), so a vector
round-trips bit for bit, and PostgreSQL still checks it (dimension, NaN, infinity) on the way in.

The dumper and loader are registered on each cursor the index opens, never on the pooled connections,
which other packages share.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg.adapt import Buffer, Dumper, Loader
from psycopg.pq import Format
from psycopg.types import TypeInfo

_HEADER = struct.Struct(">HH")


class PackedVector(bytes):
    """One vector already in pgvector's binary format (see :func:`pack`)."""


def pack(values: npt.NDArray[np.float32]) -> PackedVector:
    """``values`` (one row) in pgvector's binary format."""
    return PackedVector(_HEADER.pack(len(values), 0) + np.asarray(values, dtype=">f4").tobytes())


def unpack(data: Buffer) -> npt.NDArray[np.float32]:
    dimension, _ = _HEADER.unpack_from(data)
    return np.frombuffer(data, dtype=">f4", count=dimension, offset=_HEADER.size).astype(np.float32)


class _VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj: Any) -> Buffer:
        packed: PackedVector = obj
        return packed


class _VectorLoader(Loader):
    format = Format.BINARY

    def load(self, data: Buffer) -> npt.NDArray[np.float32]:
        return unpack(data)


class VectorCodec:
    """Cursors that send :class:`PackedVector` parameters and read ``vector`` columns as float32 arrays,
    with every result in binary (text, jsonb, numbers and booleans load as they do in text)."""

    def __init__(self, oid: int) -> None:
        self._oid = oid
        self._dumper = type("VectorDumper", (_VectorDumper,), {"oid": oid})

    @classmethod
    def fetch(cls, conn: psycopg.Connection[Any]) -> VectorCodec:
        """The codec for the ``vector`` type of the database ``conn`` is on (the extension must exist)."""
        info = TypeInfo.fetch(conn, "vector")
        if info is None:
            raise RuntimeError("the pgvector extension is not installed in this database")
        return cls(info.oid)

    def cursor(self, conn: psycopg.Connection[Any]) -> psycopg.Cursor[Any]:
        cursor = conn.cursor(binary=True)
        cursor.adapters.register_dumper(PackedVector, self._dumper)
        cursor.adapters.register_loader(self._oid, _VectorLoader)
        return cursor
