"""Reading a store's rows into an index's namespaces at open, the numeric half on a worker thread.

Each batch of stored rows is two kinds of work: Python objects (SQLite's rows, the ids, the id map, the
metadata and its columns), which hold the GIL, and numpy over its vectors (copying them into the
namespace's matrix, populating those pages, norms, fingerprints), which releases it. The loader hands
the numeric half of each batch to one worker thread and builds the Python half of the batch before it
meanwhile, so on two cores the two overlap instead of adding up.

A batch is written past its namespace's visible end (:meth:`Namespace.write_rows`), where no query
looks, and made visible in store order (:meth:`Namespace.commit`). Growing a namespace moves its
arrays, so before one grows every batch in flight is committed. A batch that is not all new ids (which a
store, keyed by namespace and id, never yields) takes the ordinary path after the batches before it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.rows import RowBatch

# Batches written but not yet visible, at most: one being committed while the next is written.
_IN_FLIGHT = 2


@dataclass(frozen=True, slots=True)
class _Written:
    namespace: Namespace
    batch: RowBatch
    rows: range
    done: Future[range]


def load_rows(batches: Iterable[tuple[str, RowBatch]], namespace_of: Callable[[str], Namespace]) -> None:
    """Put every ``(namespace name, batch)`` into ``namespace_of(name)``, in order."""
    in_flight: deque[_Written] = deque()
    with ThreadPoolExecutor(1, thread_name_prefix="inferhouse-open") as worker:
        try:
            for name, batch in batches:
                found = namespace_of(name)
                start = len(found) + sum(len(w.batch) for w in in_flight if w.namespace is found)
                end = start + len(batch)
                if not found.stageable(batch) or not found.has_room(end):
                    _commit_all(in_flight)
                    if not found.stageable(batch):
                        found.put(batch)
                        continue
                    start, end = len(found), len(found) + len(batch)
                    found.make_room(end)
                done = worker.submit(found.write_rows, start, batch.values)
                in_flight.append(_Written(found, batch, range(start, end), done))
                while len(in_flight) >= _IN_FLIGHT:
                    _commit(in_flight.popleft())
            _commit_all(in_flight)
        finally:
            for written in in_flight:  # an error stopped the load: let the worker finish before leaving
                written.done.cancel()


def _commit_all(in_flight: deque[_Written]) -> None:
    while in_flight:
        _commit(in_flight.popleft())


def _commit(written: _Written) -> None:
    written.namespace.commit(written.done.result(), written.batch)
