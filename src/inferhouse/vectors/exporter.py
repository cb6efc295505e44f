"""``index export``: an index in Pinecone's import layout, from one consistent read.

The server reads the index in (namespace, id) order inside one snapshot
(:mod:`inferhouse.vectors.snapshots`) and sends it as an Arrow IPC stream (:func:`stream_bytes`), one
namespace per batch, with a ``namespace`` column beside the layout's columns. Whoever receives it (the
CLI) writes the Parquet files (:func:`write_export`) into a hidden folder beside the target and renames it
into place at the end: the target directory is either the whole export or absent. Importing the result
restores the same ids, values, sparse values, metadata and namespaces.
"""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq

from inferhouse.vectors.import_layout import directory_of_namespace

ROWS_PER_FILE = 500_000
ROW_GROUP_ROWS = 10_000

SPARSE_TYPE = pa.struct([("indices", pa.list_(pa.uint32())), ("values", pa.list_(pa.float32()))])
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("values", pa.list_(pa.float32()), nullable=False),
        pa.field("sparse_values", SPARSE_TYPE),
        pa.field("metadata", pa.string()),
    ]
)
STREAM_SCHEMA = pa.schema([pa.field("namespace", pa.string(), nullable=False), *SCHEMA])
MEDIA_TYPE = "application/vnd.apache.arrow.stream"


@dataclass(frozen=True, slots=True)
class Chunk:
    """Rows of one namespace as a snapshot reads them: sparse parts as little-endian arrays, metadata as
    the JSON text it is stored as."""

    namespace: str
    ids: list[str]
    values: npt.NDArray[np.float32]  # one row per id
    sparse: list[tuple[npt.NDArray[np.uint32], npt.NDArray[np.float32]] | None]
    metadata: list[str | None]


@dataclass
class ExportSummary:
    directory: Path
    records: int = 0
    namespaces: dict[str, int] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)


def stream_bytes(chunks: Iterable[Chunk]) -> Iterator[bytes]:
    """``chunks`` as an Arrow IPC stream, a piece per chunk (the schema comes with the first)."""
    buffer = io.BytesIO()
    with pa.ipc.new_stream(buffer, STREAM_SCHEMA) as writer:
        for chunk in chunks:
            if chunk.ids:
                batch = arrow_batch(chunk)
                namespace = pa.array([chunk.namespace] * len(chunk.ids), pa.string())
                writer.write_batch(
                    pa.RecordBatch.from_arrays([namespace, *batch.columns], schema=STREAM_SCHEMA)
                )
                yield _drain(buffer)
    yield _drain(buffer)  # the end-of-stream marker


def _drain(buffer: io.BytesIO) -> bytes:
    data = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return data


def read_stream(
    source: pa.NativeFile | io.RawIOBase | io.BufferedIOBase,
) -> Iterator[tuple[str, pa.RecordBatch]]:
    """The (namespace, layout batch) pairs of a stream :func:`stream_bytes` wrote."""
    reader = pa.ipc.open_stream(source)
    for batch in reader:
        if batch.num_rows:
            namespace = batch.column(0)[0].as_py()
            yield namespace, pa.RecordBatch.from_arrays(batch.columns[1:], schema=SCHEMA)


def target_directory(path: Path) -> Path:
    """Where an export goes: absent or an empty directory, under an existing parent; else a ValueError."""
    path = path.absolute()
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ValueError(f"{path} exists and is not empty: name a new directory")
    if not path.parent.is_dir():
        raise ValueError(f"the parent of {path} does not exist")
    return path


def write_export(target: Path, batches: Iterable[tuple[str, pa.RecordBatch]]) -> ExportSummary:
    """Write ``batches`` (namespace after namespace) under ``target`` as Parquet, all or nothing."""
    staging = target.parent / f".{target.name}.partial-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    summary = ExportSummary(target)
    try:
        _write_all(staging, batches, summary)
        if target.exists():
            target.rmdir()  # empty, as target_directory checked
        os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary


def _write_all(staging: Path, batches: Iterable[tuple[str, pa.RecordBatch]], summary: ExportSummary) -> None:
    writer: pq.ParquetWriter | None = None
    current: tuple[str, int] | None = None  # (namespace, file number)
    in_file = 0
    try:
        for namespace, batch in batches:
            if current is None or current[0] != namespace or in_file >= ROWS_PER_FILE:
                if writer is not None:
                    writer.close()
                number = 0 if current is None or current[0] != namespace else current[1] + 1
                current = (namespace, number)
                folder = staging / directory_of_namespace(namespace)
                folder.mkdir(exist_ok=True)
                path = folder / f"part-{number:05d}.parquet"
                writer = pq.ParquetWriter(path, SCHEMA)
                summary.files.append(path.relative_to(staging).as_posix())
                in_file = 0
            assert writer is not None
            writer.write_table(pa.Table.from_batches([batch]), row_group_size=ROW_GROUP_ROWS)
            in_file += batch.num_rows
            summary.records += batch.num_rows
            summary.namespaces[namespace] = summary.namespaces.get(namespace, 0) + batch.num_rows
    finally:
        if writer is not None:
            writer.close()


def arrow_batch(chunk: Chunk) -> pa.RecordBatch:
    """A chunk in the import layout's columns, built from whole arrays."""
    count, dimension = chunk.values.shape
    flat = pa.array(np.ascontiguousarray(chunk.values, dtype=np.float32).reshape(-1))
    offsets = pa.array(np.arange(count + 1, dtype=np.int32) * dimension)
    values = pa.ListArray.from_arrays(offsets, flat)
    return pa.RecordBatch.from_arrays(
        [
            pa.array(chunk.ids, pa.string()),
            values,
            _sparse_array(chunk.sparse),
            pa.array(chunk.metadata, pa.string()),
        ],
        schema=SCHEMA,
    )


def _sparse_array(
    sparse: list[tuple[npt.NDArray[np.uint32], npt.NDArray[np.float32]] | None],
) -> pa.Array:
    if all(item is None for item in sparse):
        return pa.nulls(len(sparse), SPARSE_TYPE)
    lengths = np.array([0 if item is None else len(item[0]) for item in sparse], dtype=np.int32)
    offsets = pa.array(np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32))
    present = [item for item in sparse if item is not None]
    indices = np.concatenate([item[0] for item in present]).astype(np.uint32)
    numbers = np.concatenate([item[1] for item in present]).astype(np.float32)
    mask = pa.array([item is None for item in sparse])
    return pa.StructArray.from_arrays(
        [
            pa.ListArray.from_arrays(offsets, pa.array(indices)),
            pa.ListArray.from_arrays(offsets, pa.array(numbers)),
        ],
        fields=list(SPARSE_TYPE),
        mask=mask,
    )
