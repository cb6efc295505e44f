"""One vector index: its durable store and its in-memory namespaces, kept in step under one lock."""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.vectors import fingerprints
from inferhouse.vectors.ann import AnnGraph, AnnSettings
from inferhouse.vectors.filter_plan import filtered_rows
from inferhouse.vectors.filters import Filter, Predicate
from inferhouse.vectors.graph_files import GraphFiles, graphs_directory, remove_graph_files
from inferhouse.vectors.index_namespaces import NamespaceOperations
from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.page_tokens import decode_token, encode_token
from inferhouse.vectors.quantization import Quantization, quantization_of
from inferhouse.vectors.row_loader import load_rows
from inferhouse.vectors.rows import Metadata, RowBatch, SparseValues, VectorRow, updated_row
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore, files_bytes
from inferhouse.vectors.validation import check_matches_index, check_sparse_allowed
from inferhouse.vectors.vector_file import FileVectors

log = logging.getLogger(__name__)


@dataclass
class IndexConfig:
    name: str
    dimension: int
    metric: Metric
    deletion_protection: str = "disabled"
    tags: dict[str, str] = field(default_factory=dict)
    spec: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    # Integrated inference: the model (an inference id or an endpoint name), field_map and chunking.
    embed: dict[str, Any] | None = None

    @property
    def quantization(self) -> Quantization:
        return quantization_of(self.tags)


# Given a lookup of stored records by id, the ids a replace should delete.
StaleFinder = Callable[[Callable[[str], VectorRow | None]], Iterable[str]]


@dataclass(frozen=True, slots=True)
class Match:
    record: VectorRow
    score: float


class VectorIndex(NamespaceOperations):
    """Exact search is the truth; once a namespace is large, an ANN graph proposes candidates that the
    exact rows rank. The graph catches up in the background (:meth:`maintain`); until it has a row, that
    row is scored exactly, so a query always sees every acknowledged write."""

    def __init__(self, config: IndexConfig, store: VectorStore, ann: AnnSettings | None = None) -> None:
        self.config = config
        self.store = store
        self.quantization = config.quantization
        self.ann = ann or AnnSettings()
        if not self.quantization.in_memory_vectors:
            # Sign bits order neighbours more coarsely than 8-bit codes (four times the candidates are
            # rescored), and codes of directions miss the lengths that dot products and distances
            # weigh (twice again). Half the links halve the graph's largest part; the extra candidates
            # make up the recall.
            factor = (4 if self.quantization is Quantization.BINARY else 1) * (
                1 if config.metric is Metric.COSINE else 2
            )
            self.ann = dataclasses.replace(
                self.ann, candidates=factor * self.ann.candidates, connectivity=self.ann.connectivity // 2
            )
        self._lock = threading.RLock()
        self._namespaces: dict[str, Namespace] = {}
        self._graphs: dict[str, AnnGraph] = {}
        self._saved_graphs = GraphFiles(graphs_directory(store.path))
        self._unsaved: dict[str, int] = {}  # graph changes since each namespace's graph was last saved
        self._saved_at: dict[str, float] = {}
        self._load()
        self._restore_graphs()

    def _load(self) -> None:
        load_rows(self.store.scan_batches(), self._namespace)

    def _restore_graphs(self) -> None:
        """Load each namespace's saved graph and check it against the rows just loaded: rows it does not
        describe are scored exactly until upkeep adds them, and keys it has that match no row are dropped."""
        self._saved_graphs.clean()
        for namespace, found in self._namespaces.items():
            graph = self._new_graph()
            saved = self._saved_graphs.load(namespace, _saved_shape(graph))
            if saved is None:
                continue
            paths, keys = saved
            try:
                graph.load(paths)
            except (RuntimeError, ValueError, OSError) as error:
                log.warning(
                    "loading the saved graph of %s/%r failed (%s); rebuilding",
                    self.config.name,
                    namespace,
                    error,
                )
                continue
            found.adopt(keys)
            self._graphs[namespace] = graph
            log.info(
                "index %s, namespace %r: loaded its saved graph of %d vectors in %d segment(s); "
                "%d rows to add, %d to drop",
                self.config.name,
                namespace,
                len(graph),
                graph.segments,
                len(found.unindexed),
                len(found.stale),
            )
            self._unsaved[namespace] = len(found.unindexed) + len(found.stale)
            self._saved_at[namespace] = time.monotonic()

    def _namespace(self, name: str) -> Namespace:
        found = self._namespaces.get(name)
        if found is None:
            in_file = None if self.quantization.in_memory_vectors else self.store.path.parent
            vectors = functools.partial(FileVectors, directory=in_file) if in_file else None
            found = self._namespaces[name] = Namespace(self.config.dimension, vectors)
        return found

    def _new_graph(self) -> AnnGraph:
        return AnnGraph(self.config.dimension, self.config.metric, self.ann, self.quantization)

    def upsert(self, namespace: str, records: list[VectorRow] | RowBatch) -> int:
        batch = records if isinstance(records, RowBatch) else RowBatch.of(records)
        check_sparse_allowed(self.config.metric, batch.sparse)
        return self._write(namespace, batch)

    def _write(self, namespace: str, batch: RowBatch) -> int:
        if len(batch):
            check_matches_index(batch.values.shape[-1], self.config.dimension)
        with self._lock:
            space = self._namespace(namespace)
            durable = self.store.upsert_started(namespace, batch)
            try:
                staged = space.stage(batch)  # invisible until committed; overlaps the journal write
            finally:
                durable.result()  # raises if the write failed, and then nothing became visible
            space.commit(staged, batch)  # durable before it is visible or acknowledged
        return len(batch)

    def replace(self, namespace: str, batch: RowBatch, stale_of: StaleFinder) -> int:
        """Upsert ``batch`` and delete the rows ``stale_of`` names, in one durable write.

        This is how a record's chunks are rewritten: the new chunks land and the old ones the new set no
        longer has go, together, so readers and crashes never see a record with a mix of both.
        ``stale_of`` runs under the index lock with the namespace's id lookup."""
        if len(batch):
            check_matches_index(batch.values.shape[-1], self.config.dimension)
        with self._lock:
            space = self._namespace(namespace)
            keep = set(batch.ids)
            stale = [vector_id for vector_id in stale_of(space.get) if vector_id not in keep]
            durable = self.store.replace_started(namespace, stale, batch)
            try:
                staged = space.stage(batch)
            finally:
                durable.result()
            space.commit(staged, batch)
            space.remove(stale)
        return len(batch)

    def query(
        self,
        namespace: str,
        vector: npt.NDArray[np.float32],
        top_k: int,
        predicate: Predicate | None = None,
        sparse: SparseValues | None = None,
    ) -> list[Match]:
        with self._lock:
            found = self._namespaces.get(namespace)
            if found is None:
                return []
            within = None
            if predicate is None and sparse is None:
                within = self._ann_candidates(namespace, found, vector, top_k)
            elif isinstance(predicate, Filter) and sparse is None:
                within = self._filtered_candidates(namespace, found, vector, top_k, predicate)
                predicate = None  # every row within matches
            hits = found.search(vector, top_k, self.config.metric, predicate, sparse, within)
            return [Match(found.record(hit.row), hit.score) for hit in hits]

    def _ann_candidates(
        self, namespace: str, found: Namespace, vector: npt.NDArray[np.float32], top_k: int
    ) -> npt.NDArray[np.intp] | None:
        """Rows worth scoring exactly, or None for all of them (no graph yet, or it cannot offer enough)."""
        graph = self._graphs.get(namespace)
        if graph is None or len(graph) < self.ann.min_vectors:
            return None
        count = max(self.ann.candidates, 2 * top_k)
        if count >= len(found) // 4:
            return None  # a large share of the namespace: a full scan is as cheap and exact
        proposed = found.rows_of_keys(graph.search(vector, count))
        rows = np.unique(np.concatenate([proposed, found.unindexed_rows()]))
        return rows if len(rows) >= min(top_k, len(found)) else None

    def _filtered_candidates(
        self, namespace: str, found: Namespace, vector: npt.NDArray[np.float32], top_k: int, keep: Filter
    ) -> npt.NDArray[np.intp]:
        """The matching rows worth scoring exactly (filter_plan.py chooses graph or exact)."""
        graph = self._graphs.get(namespace)
        search = None
        if graph is not None and len(graph) >= self.ann.min_vectors:
            search = lambda count: graph.search(vector, count)  # noqa: E731
        return filtered_rows(found, search, self.ann, top_k, found.matching_rows(keep))

    def maintain(self, chunk: int = 1024) -> bool:
        """One step of keeping the graphs in step with the rows; True while work remains."""
        for namespace in list(self._namespaces):
            with self._lock:
                found = self._namespaces.get(namespace)
                if found is None or (len(found) < self.ann.min_vectors and namespace not in self._graphs):
                    continue
                graph = self._graphs.get(namespace)
                if graph is None:
                    graph = self._graphs[namespace] = self._new_graph()
                stale = found.take_stale()
                keys, vectors = found.unindexed_batch(chunk)
            if len(stale):
                graph.remove(stale)
            self._unsaved[namespace] = self._unsaved.get(namespace, 0) + len(stale) + len(keys)
            if len(keys):
                graph.add(keys, vectors)  # outside the index lock: writes and reads go on meanwhile
                with self._lock:
                    found.mark_indexed(keys)
                return True
        return self._save_due_graph()

    def _save_due_graph(self, force: bool = False) -> bool:
        """Once upkeep has caught up, save a graph that changed enough (a twentieth of it, or anything
        after a few minutes), so a restart loads it instead of building it again; True if one was saved."""
        now = time.monotonic()
        for namespace, unsaved in list(self._unsaved.items()):
            graph = self._graphs.get(namespace)
            if graph is None or not unsaved:
                continue
            due = unsaved >= max(1, len(graph) // 20) or now - self._saved_at.get(namespace, 0.0) >= 300
            if due or force:
                self._save_graph(namespace, graph)
                if not force:
                    return True
        return False

    def _save_graph(self, namespace: str, graph: AnnGraph) -> None:
        with self._lock:
            found = self._namespaces.get(namespace)
            if found is None or self._graphs.get(namespace) is not graph:
                return
            stale = found.take_stale()
            keys = found.indexed_keys()
            self._unsaved[namespace] = 0
        if len(stale):
            graph.remove(stale)  # the saved graph then holds exactly the keys listed beside it
        self._saved_graphs.save(namespace, _saved_shape(graph), keys, graph.save)
        self._saved_at[namespace] = time.monotonic()

    def fetch(self, namespace: str, ids: list[str]) -> dict[str, VectorRow]:
        with self._lock:
            found = self._namespaces.get(namespace)
            if found is None:
                return {}
            records = (found.get(vector_id) for vector_id in ids)
            return {record.id: record for record in records if record is not None}

    def update(
        self,
        namespace: str,
        vector_id: str,
        values: npt.NDArray[np.float32] | None,
        sparse: SparseValues | None,
        set_metadata: Metadata | None,
    ) -> bool:
        """Change parts of one record; ``set_metadata`` merges into its metadata. False if it is absent."""
        check_sparse_allowed(self.config.metric, [sparse])
        with self._lock:
            found = self._namespaces.get(namespace)
            current = found.get(vector_id) if found is not None else None
            if current is None:
                return False
            updated = updated_row(current, values, sparse, set_metadata)
            self._write(namespace, RowBatch.of([updated]))
            return True

    def delete(self, namespace: str, ids: list[str]) -> None:
        with self._lock:
            self.store.delete(namespace, ids)
            found = self._namespaces.get(namespace)
            if found is not None:
                found.remove(ids)

    def delete_matching(self, namespace: str, predicate: Predicate) -> None:
        with self._lock:
            found = self._namespaces.get(namespace)
            if found is not None:
                rows = np.flatnonzero(found.matching_rows(predicate))
                self.delete(namespace, [found.ids[row] for row in rows])

    def delete_all(self, namespace: str) -> None:
        with self._lock:
            self.store.delete_namespace(namespace)
            dropped = self._namespaces.pop(namespace, None)
            if dropped is not None:
                dropped.close()
            self._graphs.pop(namespace, None)
            self._unsaved.pop(namespace, None)
            self._saved_graphs.forget(namespace)

    def list_ids(
        self, namespace: str, prefix: str, limit: int, token: str | None
    ) -> tuple[list[str], str | None]:
        """Ids in ascending order after the pagination token, and the next token when more remain."""
        after = decode_token(token)
        with self._lock:
            ids = self.store.list_ids(namespace, prefix, after, limit + 1)
        page = ids[:limit]
        more = len(ids) > limit
        return page, encode_token(page[-1]) if more else None

    def size(self, namespace: str) -> int:
        """Rows in one namespace (0 when it does not exist)."""
        with self._lock:
            found = self._namespaces.get(namespace)
            return 0 if found is None else len(found)

    def namespace_counts(self, predicate: Predicate | None = None) -> dict[str, int]:
        with self._lock:
            counts = {}
            for name, found in self._namespaces.items():
                count = len(found) if predicate is None else int(found.matching_rows(predicate).sum())
                if len(found):
                    counts[name] = count
            return counts

    def __iter__(self) -> Iterator[str]:
        return iter(self._namespaces)

    def disk_bytes(self) -> int:
        """The SQLite file, the journal and the saved ANN graphs."""
        vector_files = sum(found.disk_bytes for found in list(self._namespaces.values()))
        return files_bytes(self.store.path) + self._saved_graphs.disk_bytes() + vector_files

    def destroy(self) -> None:
        self._close_namespaces()
        self.store.destroy()
        remove_graph_files(self.store.path)

    def _close_namespaces(self) -> None:
        with self._lock:
            for found in self._namespaces.values():
                found.close()

    def close(self) -> None:
        """Save the graphs that changed (the upkeep thread has stopped), then close the store."""
        try:
            self._save_due_graph(force=True)
        except Exception:  # the graph is rebuilt at the next open; the rows are what must be safe
            log.exception("saving the ANN graphs of %s failed", self.config.name)
        self._close_namespaces()
        self.store.close()


def _saved_shape(graph: AnnGraph) -> dict[str, Any]:
    """What a saved graph must have been built with to be loaded: the graph's shape and the prints' format."""
    return {**graph.shape, "fingerprints": fingerprints.FORMAT}
