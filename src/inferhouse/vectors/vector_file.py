"""Float32 rows kept in a file instead of in the process's memory, for quantized indexes.

The file is unlinked from the start (``TemporaryFile`` beside the index), so a crash leaves nothing
behind: it is a cache of the store, written again at every open. Rows are written with ``pwrite`` and
read with ``preadv``, one call per run of consecutive rows, so they live in the kernel's page cache:
clean pages the kernel drops under memory pressure and reads back on the next touch, never mapped into
the process. A query copies only the rows it rescores; a full scan reads a block at a time.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.intp]
# Rows this close together (a quarter of the span they lie in) are read as one span: one large read
# beats thousands of small ones. Callers read a few thousand rows at a time, so a span stays small.
_DENSE = 4


class FileVectors:
    """The :class:`~inferhouse.vectors.growable.GrowableMatrix` interface over a file."""

    def __init__(self, dimension: int, directory: Path, capacity: int = 1024) -> None:
        self.dimension = dimension
        self._row_bytes = dimension * 4
        directory.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=directory, prefix=".vectors-")  # noqa: SIM115  # closed by close()
        self._rows = 0
        self._grow(max(capacity, 1))

    @property
    def capacity(self) -> int:
        return self._rows

    @property
    def disk_bytes(self) -> int:
        return self._rows * self._row_bytes

    def reserve(self, rows: int) -> None:
        if rows > self._rows:
            self._grow(max(rows, 2 * self._rows))

    def write(self, start: int, block: npt.NDArray[np.float32]) -> None:
        data = np.ascontiguousarray(block, dtype=np.float32).data.cast("B")
        offset = start * self._row_bytes
        while len(data):
            written = os.pwrite(self._file.fileno(), data, offset)
            data, offset = data[written:], offset + written

    def copy_row(self, destination: int, source: int) -> None:
        self.write(destination, self.read_range(source, source + 1))

    def read_range(self, start: int, stop: int) -> npt.NDArray[np.float32]:
        out = np.empty((max(stop - start, 0), self.dimension), dtype=np.float32)
        view, offset = out.data.cast("B"), start * self._row_bytes
        while len(view):
            got = os.preadv(self._file.fileno(), [view], offset)
            if got <= 0:
                raise OSError(f"the vector file ended at byte {offset}")
            view, offset = view[got:], offset + got
        return out

    def read(self, rows: Rows) -> npt.NDArray[np.float32]:
        rows = np.asarray(rows, dtype=np.intp)
        if not len(rows):
            return np.empty((0, self.dimension), dtype=np.float32)
        low, high = int(rows.min()), int(rows.max()) + 1
        if len(rows) * _DENSE >= high - low:
            return self.read_range(low, high)[rows - low]
        order = np.argsort(rows, kind="stable")
        ordered = rows[order]
        starts = np.flatnonzero(
            np.diff(ordered, prepend=-2) != 1
        )  # where each run of consecutive rows begins
        ends = np.append(starts[1:], len(ordered))
        found = np.empty((len(rows), self.dimension), dtype=np.float32)
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            first = int(ordered[start])
            found[start:end] = self.read_range(first, first + end - start)
        out = np.empty_like(found)
        out[order] = found
        return out

    def close(self) -> None:
        self._file.close()

    def _grow(self, rows: int) -> None:
        os.ftruncate(self._file.fileno(), rows * self._row_bytes)
        self._rows = rows
