"""A memory-bounded LRU of recent embeddings, one per loaded model."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from inferhouse.engine.backends.base import TruncationDirection

CacheKey = tuple[str, TruncationDirection]

# Dict slot, key tuple, string and array headers: a rough but stable per-entry overhead.
_ENTRY_OVERHEAD_BYTES = 256


@dataclass(frozen=True, slots=True)
class CachedEmbedding:
    vector: npt.NDArray[np.float32]
    tokens: int
    truncated: bool


class EmbeddingCache:
    """Only the event loop touches it, so it needs no lock."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[CacheKey, CachedEmbedding] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes_used(self) -> int:
        return self._bytes

    def get(self, key: CacheKey) -> CachedEmbedding | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: CacheKey, entry: CachedEmbedding) -> None:
        size = _size(key, entry)
        if size > self.max_bytes:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= _size(key, old)
        self._entries[key] = entry
        self._bytes += size
        while self._bytes > self.max_bytes:
            old_key, old_entry = self._entries.popitem(last=False)
            self._bytes -= _size(old_key, old_entry)


def _size(key: CacheKey, entry: CachedEmbedding) -> int:
    return entry.vector.nbytes + len(key[0]) + _ENTRY_OVERHEAD_BYTES
