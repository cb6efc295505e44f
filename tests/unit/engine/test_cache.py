from __future__ import annotations

import numpy as np

from inferhouse.engine.cache import CachedEmbedding, EmbeddingCache


def _entry(dim: int = 4) -> CachedEmbedding:
    return CachedEmbedding(np.ones(dim, dtype=np.float32), tokens=3, truncated=False)


def test_least_recently_used_goes_first_when_memory_runs_out() -> None:
    one = 16 + 1 + 256  # vector + one-character text + per-entry overhead
    cache = EmbeddingCache(max_bytes=2 * one)
    cache.put(("a", "right"), _entry())
    cache.put(("b", "right"), _entry())
    assert cache.get(("a", "right")) is not None  # a is now the most recent
    cache.put(("c", "right"), _entry())
    assert cache.get(("b", "right")) is None
    assert cache.get(("a", "right")) is not None
    assert cache.bytes_used <= cache.max_bytes


def test_direction_is_part_of_the_key() -> None:
    cache = EmbeddingCache(max_bytes=10_000)
    cache.put(("a", "left"), _entry())
    assert cache.get(("a", "right")) is None


def test_replacing_an_entry_does_not_leak_accounting() -> None:
    cache = EmbeddingCache(max_bytes=10_000)
    for _ in range(5):
        cache.put(("a", "right"), _entry())
    assert len(cache) == 1
    assert cache.bytes_used == 16 + 1 + 256


def test_an_entry_larger_than_the_cache_is_not_kept() -> None:
    cache = EmbeddingCache(max_bytes=100)
    cache.put(("a", "right"), _entry(dim=1000))
    assert len(cache) == 0
