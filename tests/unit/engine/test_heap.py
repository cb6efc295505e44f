"""Freed heap goes back to the OS on glibc, where the server runs."""

from __future__ import annotations

import platform

import pytest

from inferhouse.engine.heap import trim_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="malloc_trim is glibc's")
def test_trim_heap_returns_freed_pages_on_glibc() -> None:
    chunks = [bytearray(64 * 1024) for _ in range(1000)]  # 64 MB in chunks below the mmap threshold
    del chunks
    assert trim_heap() is True
