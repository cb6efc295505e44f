"""Each row's signs, one bit a dimension, to shortlist many rows before reading their float32 values.

A quantized index keeps its float32 rows in a file, so scoring the 10,000 rows a selective filter keeps
means 10,000 scattered reads. The signs cost a thirty-second of the float32 row (48 bytes at 384
dimensions) and stay in memory: the Hamming distance between a row's signs and the query's orders rows
roughly by angle, so the nearest few hundred by it hold the exact top 10 nearly always, and only those
are read and scored exactly. Codes are stored as 64-bit words so a distance is a few XORs and popcounts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Rows = npt.NDArray[np.intp]


class SignCodes:
    def __init__(self, dimension: int, capacity: int) -> None:
        self._bytes = -(-dimension // 64) * 8  # whole 64-bit words; the padding bits are zero everywhere
        self._words = np.zeros((capacity, self._bytes // 8), dtype=np.uint64)

    @property
    def capacity(self) -> int:
        return len(self._words)

    @property
    def memory_bytes(self) -> int:
        return self._words.nbytes

    def grow(self, rows: int) -> None:
        if rows > len(self._words):
            grown = np.zeros((rows, self._words.shape[1]), dtype=np.uint64)
            grown[: len(self._words)] = self._words
            self._words = grown

    def write(self, start: int, block: npt.NDArray[np.float32]) -> None:
        self._words[start : start + len(block)] = self._encode(block)

    def copy_row(self, destination: int, source: int) -> None:
        self._words[destination] = self._words[source]

    def nearest(self, query: npt.NDArray[np.float32], rows: Rows, count: int) -> Rows:
        """The ``count`` of ``rows`` whose signs differ least from the query's (all when that is fewer)."""
        if len(rows) <= count:
            return rows
        differing = np.bitwise_count(self._words[rows] ^ self._encode(query[np.newaxis])[0])
        distances = differing.sum(axis=1, dtype=np.int32)
        return rows[np.argpartition(distances, count - 1)[:count]]

    def _encode(self, block: npt.NDArray[np.float32]) -> npt.NDArray[np.uint64]:
        packed = np.zeros((len(block), self._bytes), dtype=np.uint8)
        signs = np.packbits(block > 0, axis=1)
        packed[:, : signs.shape[1]] = signs
        return packed.view(np.uint64)
