"""One namespace of an index, in memory: a growable matrix of vectors with their ids and metadata.

Exact search over it is the ground truth every faster structure is held against, and the path filtered
queries take, so a selective filter still gets the exact top_k of the matching records.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import orjson

from inferhouse.vectors.column_filters import filter_mask
from inferhouse.vectors.filters import Filter, Predicate
from inferhouse.vectors.fingerprints import fingerprints
from inferhouse.vectors.graph_files import SavedKeys
from inferhouse.vectors.growable import GrowableMatrix, VectorRows
from inferhouse.vectors.key_rows import KeyRows
from inferhouse.vectors.metadata_columns import MetadataColumns
from inferhouse.vectors.rows import Metadata, RowBatch, SparseValues, VectorRow
from inferhouse.vectors.scoring import Metric, dense_scores

_EMPTY: Metadata = {}
# Rows scored per block of a full scan (a view of the rows in memory, no copy).
_SCORED_AT_ONCE = 8192
# Rows gathered per block when scoring chosen rows: a 384-d block of 1,024 is 1.5 MiB, still in cache
# when it is scored. At a million rows, 10,000 matches scored in 1,024s took about 5.1 ms against 6.1
# in 8,192s (benchmarks/gather_blocks.py).
_GATHERED_AT_ONCE = 1024


@dataclass(frozen=True, slots=True)
class Hit:
    row: int
    score: float


def _packed(metadata: Metadata | None) -> bytes | None:
    # A pickled dict is a quarter of the dict's memory, and comes back exactly (any value a caller gave).
    return None if metadata is None else pickle.dumps(metadata, protocol=pickle.HIGHEST_PROTOCOL)


def _unpacked(packed: bytes | None) -> Metadata | None:
    if packed is None:
        return None
    if packed[:1] == b"{":  # a store's JSON object, kept as it was read (a pickle starts with 0x80)
        loaded: Metadata = orjson.loads(packed)
        return loaded
    unpickled: Metadata = pickle.loads(packed)  # only bytes we pickled above
    return unpickled


class Namespace:
    """Rows may move (a delete moves the last row into the gap), so each row also carries a *key* that
    never changes while the row's vector does not: the handle the ANN graph knows it by. Keys the graph
    still has to add or drop wait in ``unindexed`` and ``stale``.

    The float32 vectors live in memory (:class:`GrowableMatrix`) or, for a quantized index, in a file
    (:class:`~inferhouse.vectors.vector_file.FileVectors`); ``vectors`` makes the one a namespace uses.
    Metadata is held serialized per row, pickled, or as the store's JSON for rows loaded at start-up:
    filters read the columns, so a row's dict is needed only to return it."""

    def __init__(self, dimension: int, vectors: Callable[[int], VectorRows] | None = None) -> None:
        self.dimension = dimension
        self.ids: list[str] = []
        self.rows: dict[str, int] = {}
        self._metadata: list[bytes | None] = []
        self.sparse: list[SparseValues | None] = []
        self._vectors = (vectors or GrowableMatrix)(dimension)
        self._norms = np.empty(16, dtype=np.float32)
        self._keys = np.empty(16, dtype=np.uint64)
        self._prints = np.empty(16, dtype=np.uint64)  # each row's vector fingerprint, for saved graphs
        self.key_rows = KeyRows()
        self.unindexed: set[int] = set()
        self.stale: list[int] = []
        self._next_key = 0
        # The metadata again, column-wise, so a filter is evaluated over all rows with numpy.
        self.columns = MetadataColumns()

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def matrix(self) -> npt.NDArray[np.float32]:
        return self._vectors.read_range(0, len(self.ids))

    @property
    def disk_bytes(self) -> int:
        """What the vectors take on disk when they are kept in a file (0 in memory)."""
        return self._vectors.disk_bytes

    def close(self) -> None:
        self._vectors.close()

    @property
    def norms(self) -> npt.NDArray[np.float32]:
        return self._norms[: len(self.ids)]

    def put(self, batch: RowBatch) -> None:
        staged = self.stage(batch)
        if staged is not None:
            self.commit(staged, batch)
            return
        self._reserve(len(self.ids) + len(batch))
        norms = np.linalg.norm(batch.values, axis=1)
        prints = fingerprints(batch.values)
        written: dict[int, Metadata | None] = {}  # row -> metadata, the later record of an id winning
        for position, vector_id in enumerate(batch.ids):
            row = self.rows.get(vector_id)
            if row is None:
                row = len(self.ids)
                self.rows[vector_id] = row
                self.ids.append(vector_id)
                self._metadata.append(None)
                self.sparse.append(None)
            else:
                self._retire_key(row)
            self._vectors.write(row, batch.values[position : position + 1])
            self._norms[row] = norms[position]
            self._prints[row] = prints[position]
            self._metadata[row] = _packed(batch.metadata[position])
            written[row] = batch.metadata[position]
            self.sparse[row] = batch.sparse[position]
            key = self._next_key
            self._next_key += 1
            self._keys[row] = key
            self.key_rows[key] = row
            self.unindexed.add(key)
        self.columns.assign(list(written), list(written.values()))

    def stage(self, batch: RowBatch) -> range | None:
        """For a batch of all-new ids (the bulk-load case), write its rows past the visible end, where no
        query looks, and return their range for :meth:`commit`; None when the batch needs :meth:`put`.
        Staging is the costly part (memory, copies, norms), so it can overlap the durable write."""
        if not self.stageable(batch):
            return None
        self._reserve(len(self.ids) + len(batch))
        return self.write_rows(len(self.ids), batch.values)

    def stageable(self, batch: RowBatch) -> bool:
        """Whether every id of ``batch`` is new (to the batch and to the namespace): rows it can stage."""
        return (
            bool(len(batch)) and len(set(batch.ids)) == len(batch) and self.rows.keys().isdisjoint(batch.ids)
        )

    def has_room(self, rows: int) -> bool:
        """Whether rows up to ``rows`` can be written without growing (which moves what is staged)."""
        return rows <= min(len(self._norms), self._vectors.capacity)

    def make_room(self, rows: int) -> None:
        """Grow to hold ``rows`` rows. Rows staged past the visible end are not kept: commit them first."""
        self._reserve(rows)

    def write_rows(self, start: int, values: npt.NDArray[np.float32]) -> range:
        """Write vectors, norms and fingerprints for rows from ``start`` (past the visible end, where no
        query looks) and return their range. Only numpy, which releases the GIL, so a loader can run it
        on a worker thread while it builds the Python side of other rows; nothing may grow meanwhile."""
        block = np.ascontiguousarray(values, dtype=np.float32)
        end = start + len(block)
        self._vectors.write(start, block)
        self._norms[start:end] = np.linalg.norm(block, axis=1)
        self._prints[start:end] = fingerprints(block)
        return range(start, end)

    def commit(self, staged: range | None, batch: RowBatch) -> None:
        """Make a batch visible: the rows :meth:`stage` wrote, or the whole batch when it staged nothing
        (or what it staged no longer lines up: another batch became visible first or took one of its ids)."""
        if staged is None or staged.start != len(self.ids) or not self.rows.keys().isdisjoint(batch.ids):
            self.put(batch)
            return
        first_key = self._next_key
        keys = range(first_key, first_key + len(batch))
        self._keys[staged.start : staged.stop] = np.arange(first_key, first_key + len(batch), dtype=np.uint64)
        self._next_key += len(batch)
        self.rows.update(zip(batch.ids, staged, strict=True))
        self.key_rows.assign(np.asarray(keys, dtype=np.uint64), np.asarray(staged, dtype=np.intp))
        self.unindexed.update(keys)
        self.ids.extend(batch.ids)
        # Rows read back from the store keep its JSON: the same dicts again, without pickling a million.
        stored = batch.stored_metadata
        self._metadata.extend(stored if stored is not None else map(_packed, batch.metadata))
        self.sparse.extend(batch.sparse)
        self.columns.append(batch.metadata)

    def remove(self, ids: Iterable[str]) -> int:
        """Delete by moving the last row into the freed slot; returns how many existed."""
        removed = 0
        for vector_id in ids:
            row = self.rows.pop(vector_id, None)
            if row is None:
                continue
            removed += 1
            self._retire_key(row)
            self.columns.remove_row(row)
            last = len(self.ids) - 1
            if row != last:
                moved = self.ids[last]
                self.ids[row] = moved
                self.rows[moved] = row
                self._vectors.copy_row(row, last)
                self._norms[row] = self._norms[last]
                self._prints[row] = self._prints[last]
                self._metadata[row] = self._metadata[last]
                self.sparse[row] = self.sparse[last]
                self._keys[row] = self._keys[last]
                self.key_rows[int(self._keys[row])] = row
            self.ids.pop()
            self._metadata.pop()
            self.sparse.pop()
        return removed

    def _retire_key(self, row: int) -> None:
        key = int(self._keys[row])
        del self.key_rows[key]
        if key in self.unindexed:
            self.unindexed.discard(key)
        else:
            self.stale.append(key)

    def set_metadata(self, rows: Iterable[int], patch: Metadata) -> None:
        """Merge ``patch`` into the metadata of ``rows`` (an update by filter). Vectors and keys stay as
        they are, so the ANN graph has nothing to redo; whatever indexes metadata must follow here."""
        changed = list(rows)
        merged = [{**(self.metadata_at(row) or _EMPTY), **patch} for row in changed]
        for row, metadata in zip(changed, merged, strict=True):
            self._metadata[row] = _packed(metadata)
        self.columns.assign(changed, list(merged))

    def metadata_at(self, row: int) -> Metadata | None:
        return _unpacked(self._metadata[row])

    def unindexed_batch(self, limit: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.float32]]:
        """Up to ``limit`` keys the graph lacks, with a copy of their vectors. They stay in ``unindexed``
        (so queries keep scoring them exactly) until :meth:`mark_indexed` says the graph has them."""
        keys = list(itertools.islice(self.unindexed, limit))
        chosen = np.asarray(keys, dtype=np.uint64)
        return chosen, self._vectors.read(self.key_rows.rows_of(chosen))

    def mark_indexed(self, keys: npt.NDArray[np.uint64]) -> None:
        for key in keys.tolist():
            if key in self.unindexed:
                self.unindexed.discard(key)
            elif key not in self.key_rows:
                self.stale.append(key)  # deleted or overwritten while the graph was adding it
        if not self.unindexed:
            self.unindexed = set()  # a set never shrinks its table: after a bulk load it held every key

    def take_stale(self) -> npt.NDArray[np.uint64]:
        keys, self.stale = self.stale, []
        return np.asarray(keys, dtype=np.uint64)

    def indexed_keys(self) -> SavedKeys:
        """The keys a graph in step with this namespace holds (every live key it has been given), with
        their rows' ids and fingerprints: what a saved graph records to be checked at the next open."""
        count = len(self.ids)
        keys = self._keys[:count]
        indexed = np.ones(count, dtype=bool)
        if self.unindexed:
            indexed &= ~np.isin(keys, np.fromiter(self.unindexed, dtype=np.uint64, count=len(self.unindexed)))
        rows = np.flatnonzero(indexed)
        ids = self.ids
        return SavedKeys(keys[rows].copy(), [ids[row] for row in rows.tolist()], self._prints[rows].copy())

    def adopt(self, saved: SavedKeys) -> None:
        """Take the keys of a graph saved earlier, for the rows it still describes (same id, same
        fingerprint): those count as indexed. Every other row becomes unindexed under a fresh key, and
        the saved keys that match no row are queued as stale, for the graph to drop. Call only on a
        namespace just loaded, before any graph has seen its keys."""
        count = len(self.ids)
        if saved.ids == self.ids:  # the usual case, nothing written since the save: the same rows in order
            rows = np.arange(count, dtype=np.intp)
        else:
            found = map(self.rows.get, saved.ids, itertools.repeat(-1))
            rows = np.fromiter(found, dtype=np.intp, count=len(saved.ids))
        same = rows >= 0
        same[same] = self._prints[rows[same]] == saved.prints[same]
        first_fresh = int(saved.keys.max()) + 1 if len(saved.keys) else 0
        keys = np.arange(first_fresh, first_fresh + count, dtype=np.uint64)
        keys[rows[same]] = saved.keys[same]
        fresh = np.ones(count, dtype=bool)
        fresh[rows[same]] = False
        self._keys[:count] = keys
        self.key_rows = KeyRows()
        self.key_rows.assign(keys, np.arange(count, dtype=np.intp))
        self.unindexed = set(keys[fresh].tolist())
        self.stale = saved.keys[~same].tolist()
        self._next_key = first_fresh + count

    def rows_of_keys(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        """Rows of the keys still live (a graph may return keys deleted since it last heard)."""
        return self.key_rows.rows_of(keys)

    def unindexed_rows(self) -> npt.NDArray[np.intp]:
        keys = np.fromiter(self.unindexed, dtype=np.uint64, count=len(self.unindexed))
        return self.key_rows.rows_of(keys)

    def record(self, row: int) -> VectorRow:
        vector = self._vectors.read(np.array([row], dtype=np.intp))[0]
        return VectorRow(self.ids[row], vector, self.sparse[row], self.metadata_at(row))

    def get(self, vector_id: str) -> VectorRow | None:
        row = self.rows.get(vector_id)
        return None if row is None else self.record(row)

    def matching_rows(self, predicate: Predicate) -> npt.NDArray[np.bool_]:
        """A mask over the rows: a checked filter over the metadata columns, any other predicate (a
        caller's own function) tested on each row's metadata."""
        if isinstance(predicate, Filter):
            return filter_mask(self.columns, predicate.spec)
        every = (predicate(_unpacked(m) or _EMPTY) for m in self._metadata)
        return np.fromiter(every, dtype=bool, count=len(self.ids))

    def search(
        self,
        query: npt.NDArray[np.float32],
        top_k: int,
        metric: Metric,
        predicate: Predicate | None = None,
        sparse_query: SparseValues | None = None,
        within: npt.NDArray[np.intp] | None = None,
    ) -> list[Hit]:
        """The exact top_k, best first, among all rows or only those ``within``; ties go to the smaller id
        so results are stable."""
        if not self.ids:
            return []
        if within is None and predicate is None:
            candidates = np.arange(len(self.ids))
            scores = self._all_scores(query, metric)
        else:
            candidates = np.arange(len(self.ids)) if within is None else within
            if predicate is not None:
                candidates = candidates[self.matching_rows(predicate)[candidates]]
            scores = self._scores_of(candidates, query, metric)
        if sparse_query is not None:
            scores = scores + self._sparse_scores(sparse_query, candidates)
        if not len(candidates):
            return []
        ranked = -scores if metric.higher_is_better else scores
        k = min(top_k, len(candidates))
        if k < len(candidates):
            # Everything tied with the k-th best stays in the running, so the id tie-break is exact.
            kth = ranked[np.argpartition(ranked, k - 1)[k - 1]]
            chosen = np.flatnonzero(ranked <= kth)
        else:
            chosen = np.arange(len(candidates))
        order = sorted(chosen.tolist(), key=lambda i: (float(ranked[i]), self.ids[candidates[i]]))[:k]
        return [Hit(int(candidates[i]), float(scores[i])) for i in order]

    def _all_scores(self, query: npt.NDArray[np.float32], metric: Metric) -> npt.NDArray[np.float32]:
        scores = np.empty(len(self.ids), dtype=np.float32)
        for start in range(0, len(self.ids), _SCORED_AT_ONCE):
            stop = min(start + _SCORED_AT_ONCE, len(self.ids))
            block = self._vectors.read_range(start, stop)  # a view in memory, a read from a file
            scores[start:stop] = dense_scores(block, self._norms[start:stop], query, metric)
        return scores

    def _scores_of(
        self, rows: npt.NDArray[np.intp], query: npt.NDArray[np.float32], metric: Metric
    ) -> npt.NDArray[np.float32]:
        scores = np.empty(len(rows), dtype=np.float32)
        for start in range(0, len(rows), _GATHERED_AT_ONCE):
            chosen = rows[start : start + _GATHERED_AT_ONCE]
            scores[start : start + len(chosen)] = dense_scores(
                self._vectors.read(chosen), self._norms[chosen], query, metric
            )
        return scores

    def _sparse_scores(self, query: SparseValues, rows: npt.NDArray[np.intp]) -> npt.NDArray[np.float32]:
        weights = dict(zip(query.indices.tolist(), query.values.tolist(), strict=True))
        out = np.zeros(len(rows), dtype=np.float32)
        for position, row in enumerate(rows.tolist()):
            sparse = self.sparse[row]
            if sparse is not None:
                out[position] = sum(
                    weights.get(i, 0.0) * v
                    for i, v in zip(sparse.indices.tolist(), sparse.values.tolist(), strict=True)
                )
        return out

    def _reserve(self, needed: int) -> None:
        self._vectors.reserve(needed)
        capacity = len(self._norms)
        if needed <= capacity:
            return
        capacity = max(needed, 2 * capacity)
        norms = np.empty(capacity, dtype=np.float32)
        norms[: len(self.ids)] = self.norms
        keys = np.empty(capacity, dtype=np.uint64)
        keys[: len(self.ids)] = self._keys[: len(self.ids)]
        prints = np.empty(capacity, dtype=np.uint64)
        prints[: len(self.ids)] = self._prints[: len(self.ids)]
        self._norms, self._keys, self._prints = norms, keys, prints
