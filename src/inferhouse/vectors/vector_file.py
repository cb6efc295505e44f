"""Float32 rows kept in a file instead of in the process's memory, for quantized indexes.

The file is unlinked from the start (``TemporaryFile`` beside the index), so a crash leaves nothing
behind: it is a cache of the store, written again at every open. Rows are written with ``pwrite`` and
read through a read-only shared mapping, so they live in the kernel's page cache: clean pages the
kernel drops under memory pressure and reads back on the next touch, never the process's private
memory. A query touches only the rows it rescores.
"""

from __future__ import annotations

import mmap
import os
import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.intp]


class FileVectors:
    """The :class:`~inferhouse.vectors.growable.GrowableMatrix` interface over a file."""

    def __init__(self, dimension: int, directory: Path, capacity: int = 1024) -> None:
        self.dimension = dimension
        self._row_bytes = dimension * 4
        directory.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=directory, prefix=".vectors-")  # noqa: SIM115  # closed by close()
        self._rows = 0
        self.array: npt.NDArray[np.float32] = np.empty((0, dimension), dtype=np.float32)
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
        self.write(destination, self.array[source : source + 1])

    def read(self, rows: Rows) -> npt.NDArray[np.float32]:
        chosen: npt.NDArray[np.float32] = self.array[rows]
        return chosen

    def close(self) -> None:
        self.array = np.empty((0, self.dimension), dtype=np.float32)
        self._file.close()  # the mapping goes when the last view of it does

    def _grow(self, rows: int) -> None:
        os.ftruncate(self._file.fileno(), rows * self._row_bytes)
        mapping = mmap.mmap(self._file.fileno(), rows * self._row_bytes, mmap.MAP_SHARED, mmap.PROT_READ)
        if hasattr(mapping, "madvise"):
            mapping.madvise(mmap.MADV_RANDOM)  # rescoring reads scattered rows: no read-ahead around them
        self.array = np.frombuffer(mapping, dtype=np.float32).reshape(rows, self.dimension)
        self._rows = rows
