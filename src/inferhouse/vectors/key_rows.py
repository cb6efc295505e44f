"""Which row holds each ANN key: an array indexed by key, since keys are issued in order from zero.

A dict of Python ints costs about 108 bytes a row; this costs 4 bytes a key ever issued. Each upsert
of a row issues a key, so the array grows with writes, not rows: a namespace rewritten ten times over
holds forty bytes a row here, still well under the dict.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

_NONE = -1  # the key's row was deleted or rewritten


class KeyRows:
    def __init__(self) -> None:
        self._rows = np.full(16, _NONE, dtype=np.int32)
        self._live = 0

    def __len__(self) -> int:
        return self._live

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and 0 <= key < len(self._rows) and self._rows[key] != _NONE

    def __getitem__(self, key: int) -> int:
        if key not in self:
            raise KeyError(key)
        return int(self._rows[key])

    def __setitem__(self, key: int, row: int) -> None:
        self._reserve(key + 1)
        self._live += int(self._rows[key] == _NONE)
        self._rows[key] = row

    def __delitem__(self, key: int) -> None:
        if key not in self:
            raise KeyError(key)
        self._rows[key] = _NONE
        self._live -= 1

    def __iter__(self) -> Iterator[int]:
        return iter(np.flatnonzero(self._rows != _NONE).tolist())

    def assign(self, keys: npt.NDArray[np.uint64], rows: npt.NDArray[np.intp]) -> None:
        """Set many keys at once (keys not set before)."""
        if len(keys):
            self._reserve(int(keys.max()) + 1)
            self._rows[keys.astype(np.intp)] = rows
            self._live += len(keys)

    def rows_of(self, keys: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        """The rows of the keys still live, in the keys' order; keys never issued or retired are skipped."""
        index = keys.astype(np.intp)
        index = index[index < len(self._rows)]
        rows = self._rows[index]
        live: npt.NDArray[np.intp] = rows[rows != _NONE].astype(np.intp)
        return live

    def _reserve(self, size: int) -> None:
        if size > len(self._rows):
            grown = np.full(max(size, 2 * len(self._rows)), _NONE, dtype=np.int32)
            grown[: len(self._rows)] = self._rows
            self._rows = grown
