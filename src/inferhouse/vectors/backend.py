"""Where an index keeps its vectors: the operations every backend serves, and how the registry opens one.

Two backends implement them: ``embedded`` (the default: each index a SQLite file with a journal, its
namespaces in memory, usearch graphs; :class:`~inferhouse.vectors.index.VectorIndex`) and ``pgvector``
(each index a PostgreSQL table with an HNSW index, shared by every API replica on that database;
:class:`~inferhouse.vectors.pgvector_index.PgVectorIndex`). The routes see only :class:`SearchIndex`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.graph_files import remove_graph_files
from inferhouse.vectors.index import IndexConfig, Match, StaleFinder, VectorIndex
from inferhouse.vectors.rows import Metadata, RowBatch, SparseValues, VectorRow
from inferhouse.vectors.store import VectorStore, remove_files


class SearchIndex(Protocol):
    """One index's data plane. Writes are durable when they return; a rejected one changes nothing."""

    config: IndexConfig

    def upsert(self, namespace: str, records: list[VectorRow] | RowBatch) -> int: ...

    def replace(self, namespace: str, batch: RowBatch, stale_of: StaleFinder) -> int: ...

    def query(
        self,
        namespace: str,
        vector: npt.NDArray[np.float32],
        top_k: int,
        predicate: Predicate | None = None,
        sparse: SparseValues | None = None,
    ) -> list[Match]: ...

    def fetch(self, namespace: str, ids: list[str]) -> dict[str, VectorRow]: ...

    def update(
        self,
        namespace: str,
        vector_id: str,
        values: npt.NDArray[np.float32] | None,
        sparse: SparseValues | None,
        set_metadata: Metadata | None,
    ) -> bool: ...

    def delete(self, namespace: str, ids: list[str]) -> None: ...

    def delete_matching(self, namespace: str, predicate: Predicate) -> None: ...

    def delete_all(self, namespace: str) -> None: ...

    def list_ids(
        self, namespace: str, prefix: str, limit: int, token: str | None
    ) -> tuple[list[str], str | None]: ...

    def size(self, namespace: str) -> int: ...

    def namespace_counts(self, predicate: Predicate | None = None) -> dict[str, int]: ...

    def __iter__(self) -> Iterator[str]: ...

    def disk_bytes(self) -> int:
        """What the index's data takes on disk, in bytes (files or table, its search graph included)."""
        ...

    def maintain(self, chunk: int = 1024) -> bool:
        """One step of background upkeep (ANN graphs); True while work remains."""
        ...

    def destroy(self) -> None:
        """Remove the index's data for good."""
        ...

    def close(self) -> None: ...

    # -- the namespaces API (vectors/index_namespaces.py, vectors/pgvector_namespaces.py) --------------

    def declared_namespaces(self) -> dict[str, Metadata | None]:
        """Namespaces created by name (they exist while empty), each with its schema or None."""
        ...

    def create_namespace(self, namespace: str, schema: Metadata | None) -> None:
        """Raises AlreadyExists when the namespace was created or holds records."""
        ...

    def delete_namespace(self, namespace: str) -> None:
        """Its records and the namespace itself; raises NotFound when it does not exist."""
        ...

    def fetch_matching(
        self, namespace: str, predicate: Predicate, after: str | None, limit: int
    ) -> list[VectorRow]:
        """Up to ``limit`` matching records in id order, starting after id ``after``."""
        ...

    def update_matching(self, namespace: str, predicate: Predicate, patch: Metadata, dry_run: bool) -> int:
        """Merge ``patch`` into every match's metadata in one durable write; returns how many matched."""
        ...


class IndexStorage(Protocol):
    """What the registry opens indexes with."""

    name: str

    def open(self, config: IndexConfig) -> SearchIndex: ...

    def clear(self, name: str) -> None:
        """Remove what a crash in the middle of deleting index ``name`` may have left."""
        ...


class EmbeddedStorage:
    """Each index a SQLite file (with its journal) under ``directory``, served from memory."""

    name: str = "embedded"

    def __init__(self, directory: Path, ann: AnnSettings | None = None) -> None:
        self._directory = directory
        self._ann = ann or AnnSettings()

    def open(self, config: IndexConfig) -> SearchIndex:
        return VectorIndex(config, VectorStore(self._path(config.name)), self._ann)

    def clear(self, name: str) -> None:
        remove_files(self._path(name))
        remove_graph_files(self._path(name))

    def _path(self, name: str) -> Path:
        return self._directory / f"{name}.sqlite3"
