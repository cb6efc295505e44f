"""The namespaces API on an embedded index: namespaces created by name, and reads and writes by filter.

Each write is one journal entry, taken under the index lock and made visible only once it is durable,
as every other write of :class:`~inferhouse.vectors.index.VectorIndex` is. Filters are matched with the
namespace's own :meth:`~inferhouse.vectors.namespace.Namespace.matching_rows`.
"""

from __future__ import annotations

import heapq
import threading

import numpy as np

from inferhouse.errors import AlreadyExists, NotFound
from inferhouse.vectors.ann import AnnGraph
from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.graph_files import GraphFiles
from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.rows import Metadata, VectorRow
from inferhouse.vectors.store import VectorStore
from inferhouse.vectors.validation import check_merged_metadata


class NamespaceOperations:
    """Mixed into :class:`~inferhouse.vectors.index.VectorIndex`, which sets these fields."""

    store: VectorStore
    _lock: threading.RLock
    _namespaces: dict[str, Namespace]
    _graphs: dict[str, AnnGraph]
    _saved_graphs: GraphFiles
    _unsaved: dict[str, int]

    def _holds_records(self, namespace: str) -> bool:
        found = self._namespaces.get(namespace)
        return found is not None and len(found) > 0

    def declared_namespaces(self) -> dict[str, Metadata | None]:
        with self._lock:
            return dict(self.store.declared)

    def create_namespace(self, namespace: str, schema: Metadata | None) -> None:
        with self._lock:
            if namespace in self.store.declared or self._holds_records(namespace):
                raise AlreadyExists(f"Namespace {namespace!r} already exists")
            self.store.declare_namespace(namespace, schema)

    def delete_namespace(self, namespace: str) -> None:
        """Delete the namespace's records and the namespace (the default namespace is only emptied)."""
        with self._lock:
            if namespace and namespace not in self.store.declared and not self._holds_records(namespace):
                raise NotFound(f"Namespace {namespace!r} not found")
            self.store.forget_namespace(namespace)
            self._namespaces.pop(namespace, None)
            self._graphs.pop(namespace, None)
            self._unsaved.pop(namespace, None)
            self._saved_graphs.forget(namespace)

    def fetch_matching(
        self, namespace: str, predicate: Predicate, after: str | None, limit: int
    ) -> list[VectorRow]:
        """Up to ``limit`` records that match, in id (code point) order, after id ``after``."""
        with self._lock:
            found = self._namespaces.get(namespace)
            if found is None:
                return []
            ids = (found.ids[row] for row in np.flatnonzero(found.matching_rows(predicate)).tolist())
            page = heapq.nsmallest(limit, (i for i in ids if after is None or i > after))
            return [found.record(found.rows[vector_id]) for vector_id in page]

    def update_matching(self, namespace: str, predicate: Predicate, patch: Metadata, dry_run: bool) -> int:
        """Merge ``patch`` into the metadata of every match as one durable write; returns how many
        matched. A dry run, or an empty patch, only counts."""
        with self._lock:
            found = self._namespaces.get(namespace)
            if found is None:
                return 0
            rows = np.flatnonzero(found.matching_rows(predicate)).tolist()
            if rows and patch and not dry_run:
                for row in rows:
                    check_merged_metadata(found.ids[row], found.metadata_at(row), patch)
                self.store.set_metadata(namespace, [found.ids[row] for row in rows], patch)
                found.set_metadata(rows, patch)  # durable before it is visible or acknowledged
            return len(rows)
