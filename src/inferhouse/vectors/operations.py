"""The writes a vector store journals, and their byte form.

An upsert travels as a handful of blobs rather than one row per record: the dense rows back to back,
the metadata and sparse parts concatenated, and a JSON layout of ``[id, metadata offset, metadata
length, sparse offset, sparse length]`` per record that says where each record's slices are. The same
blobs are the parameters of the one SQL statement that stores the batch.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from inferhouse.vectors.rows import RowBatch, SparseValues, VectorRow

_UPSERT, _DELETE, _DROP, _REPLACE = b"U", b"D", b"N", b"R"
_DECLARE, _FORGET, _SET_METADATA = b"C", b"F", b"M"
_UPSERT_HEAD = struct.Struct("<I6I")  # bytes per dense row, then the length of each of six fields
_NAMESPACE_HEAD = struct.Struct("<I")


@dataclass(frozen=True, slots=True)
class Upsert:
    namespace: str
    layout: bytes
    dense: bytes | memoryview
    row_bytes: int
    metadata: bytes
    sparse_indices: bytes
    sparse_values: bytes

    def sql_params(self) -> dict[str, object]:
        return {
            "namespace": self.namespace,
            "layout": self.layout,
            "dense": self.dense,
            "row_bytes": self.row_bytes,
            "metadata": self.metadata,
            "sparse_indices": self.sparse_indices,
            "sparse_values": self.sparse_values,
        }

    def records(self) -> list[VectorRow]:
        out = []
        for position, (vector_id, meta_at, meta_length, sparse_at, sparse_length) in enumerate(
            orjson.loads(self.layout)
        ):
            values = np.frombuffer(self.dense, "<f4", self.row_bytes // 4, position * self.row_bytes)
            sparse = None
            if sparse_at is not None:
                sparse = SparseValues(
                    np.frombuffer(self.sparse_indices, "<u4", sparse_length, sparse_at * 4).astype(np.uint32),
                    np.frombuffer(self.sparse_values, "<f4", sparse_length, sparse_at * 4).astype(np.float32),
                )
            metadata = None
            if meta_at is not None:
                metadata = orjson.loads(self.metadata[meta_at : meta_at + meta_length])
            out.append(VectorRow(vector_id, values.astype(np.float32), sparse, metadata))
        return out


@dataclass(frozen=True, slots=True)
class Delete:
    namespace: str
    ids: list[str]


@dataclass(frozen=True, slots=True)
class DropNamespace:
    namespace: str


@dataclass(frozen=True, slots=True)
class Replace:
    """Delete some ids and upsert a batch as one journal entry: a crash keeps both or neither, so a
    record whose chunks are rewritten never ends up with some old chunks beside the new ones."""

    delete: Delete
    upsert: Upsert


# -- the namespaces API's writes ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeclareNamespace:
    """A namespace created by name: it exists (and lists) while it holds no records."""

    namespace: str
    schema: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ForgetNamespace:
    """A namespace deleted: its records and its declaration, together."""

    namespace: str


@dataclass(frozen=True, slots=True)
class SetMetadata:
    """``patch`` merged into the metadata of each of ``ids`` (an update by filter), as one entry."""

    namespace: str
    ids: list[str]
    patch: dict[str, Any]


NamespaceOperation = DeclareNamespace | ForgetNamespace | SetMetadata
Operation = Upsert | Delete | DropNamespace | Replace | NamespaceOperation


def upsert_of(namespace: str, batch: RowBatch) -> Upsert:
    layout: list[tuple[str, int | None, int | None, int | None, int | None]] = []
    metadata_parts: list[bytes] = []
    metadata_size = 0
    sparse_indices: list[npt.NDArray[np.uint32]] = []
    sparse_values: list[npt.NDArray[np.float32]] = []
    sparse_size = 0
    for vector_id, metadata, sparse in zip(batch.ids, batch.metadata, batch.sparse, strict=True):
        meta_at = meta_length = sparse_at = sparse_length = None
        if metadata:
            encoded = orjson.dumps(metadata)
            meta_at, meta_length = metadata_size, len(encoded)
            metadata_parts.append(encoded)
            metadata_size += len(encoded)
        if sparse is not None:
            sparse_at, sparse_length = sparse_size, len(sparse.indices)
            sparse_indices.append(sparse.indices)
            sparse_values.append(sparse.values)
            sparse_size += sparse_length
        layout.append((vector_id, meta_at, meta_length, sparse_at, sparse_length))
    dense = np.ascontiguousarray(batch.values, dtype="<f4")
    return Upsert(
        namespace,
        orjson.dumps(layout),
        # The rows themselves, not a copy: the journal writes them as they are (no rows: no view to cast).
        dense.data.cast("B") if dense.size else b"",
        dense.shape[1] * 4,
        b"".join(metadata_parts),
        _concatenated(sparse_indices, "<u4"),
        _concatenated(sparse_values, "<f4"),
    )


def encode(operation: Operation) -> list[bytes | memoryview]:
    """The entry as parts to be written back to back (so a large batch is not copied to join it)."""
    if isinstance(operation, Replace):
        deleted = b"".join(bytes(part) for part in encode(operation.delete))
        return [_REPLACE, _NAMESPACE_HEAD.pack(len(deleted)), deleted, *encode(operation.upsert)]
    if isinstance(operation, Upsert):
        fields: list[bytes | memoryview] = [
            operation.namespace.encode(),
            operation.layout,
            operation.dense,
            operation.metadata,
            operation.sparse_indices,
            operation.sparse_values,
        ]
        head = _UPSERT_HEAD.pack(operation.row_bytes, *(len(field) for field in fields))
        return [_UPSERT, head, *fields]
    namespace = operation.namespace.encode()
    head = _NAMESPACE_HEAD.pack(len(namespace))
    if isinstance(operation, Delete):
        return [_DELETE, head, namespace, orjson.dumps(operation.ids)]
    if isinstance(operation, DeclareNamespace):
        return [_DECLARE, head, namespace, orjson.dumps(operation.schema)]
    if isinstance(operation, ForgetNamespace):
        return [_FORGET, head, namespace]
    if isinstance(operation, SetMetadata):
        return [_SET_METADATA, head, namespace, orjson.dumps([operation.ids, operation.patch])]
    return [_DROP, head, namespace]


def decode(payload: bytes) -> Operation:
    kind, body = payload[:1], memoryview(payload)[1:]
    if kind == _REPLACE:
        (length,) = _NAMESPACE_HEAD.unpack_from(body)
        start = _NAMESPACE_HEAD.size
        deleted = decode(bytes(body[start : start + length]))
        upserted = decode(bytes(body[start + length :]))
        if not isinstance(deleted, Delete) or not isinstance(upserted, Upsert):
            raise ValueError("a replace entry must hold a delete and an upsert")
        return Replace(deleted, upserted)
    if kind == _UPSERT:
        row_bytes, *lengths = _UPSERT_HEAD.unpack_from(body)
        fields: list[bytes] = []
        at = _UPSERT_HEAD.size
        for length in lengths:
            fields.append(bytes(body[at : at + length]))
            at += length
        name, layout, dense, metadata, sparse_indices, sparse_values = fields
        return Upsert(name.decode(), layout, dense, row_bytes, metadata, sparse_indices, sparse_values)
    (length,) = _NAMESPACE_HEAD.unpack_from(body)
    start = _NAMESPACE_HEAD.size
    namespace = bytes(body[start : start + length]).decode()
    if kind == _DELETE:
        return Delete(namespace, orjson.loads(body[start + length :]))
    if kind == _DROP:
        return DropNamespace(namespace)
    if kind == _DECLARE:
        return DeclareNamespace(namespace, orjson.loads(body[start + length :]))
    if kind == _FORGET:
        return ForgetNamespace(namespace)
    if kind == _SET_METADATA:
        ids, patch = orjson.loads(body[start + length :])
        return SetMetadata(namespace, ids, patch)
    raise ValueError(f"unknown journal entry kind {kind!r}")


def _concatenated(parts: list[npt.NDArray[Any]], dtype: str) -> bytes:
    return np.concatenate(parts).astype(dtype, copy=False).tobytes() if parts else b""
