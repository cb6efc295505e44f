"""Handing freed heap memory back to the operating system once a model goes idle."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None on another C library."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def trim_heap() -> bool:
    """Return the free pages of every malloc arena to the OS; False where that is not possible.

    glibc gives each thread that allocates its own arena and releases little of a busy arena's freed
    memory by itself, so after a burst of requests the process keeps its peak size while idle."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
