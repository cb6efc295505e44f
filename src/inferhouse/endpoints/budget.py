"""How much memory a deployment's weights need, and the budget that refuses one that would not fit."""

from __future__ import annotations

import threading
from pathlib import Path

from inferhouse.errors import OutOfMemory

# Loaded weights take a little more than their files (buffers, the first forward pass's activations).
MEMORY_OVERHEAD = 1.25
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_SKIPPED_WEIGHT_DIRS = {"onnx", "openvino"}


def weights_bytes(path: Path) -> int:
    """Bytes of weight files under ``path`` (the first format found, so a model shipping both
    safetensors and bin files is not counted twice)."""
    for suffix in _WEIGHT_SUFFIXES:
        files = [
            file
            for file in path.rglob(f"*{suffix}")
            if file.is_file() and not _SKIPPED_WEIGHT_DIRS & set(file.relative_to(path).parts)
        ]
        if files:
            return sum(file.stat().st_size for file in files)
    return 0


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo, or None where there is no such file."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class MemoryBudget:
    """Refuses a deployment that would not fit: within ``limit`` bytes for all endpoints when one is
    configured, else within the memory the machine has available now."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._reserved: dict[object, int] = {}
        self._lock = threading.Lock()

    def reserve(self, owner: object, needed: int, replicas: int) -> None:
        """Hold ``needed`` bytes for ``owner`` (its ``replicas`` copies), or raise :class:`OutOfMemory`.
        Asked again for an owner that holds some (an autoscaler adding copies), only the growth is checked:
        what it holds is already loaded."""
        with self._lock:
            held = self._reserved.get(owner, 0)
            if needed <= held:
                self._reserved[owner] = needed
                return
            if self._limit is not None:
                available = self._limit - sum(self._reserved.values())
                where = "of the endpoint memory budget (INFERHOUSE_ENDPOINT_MEMORY_BYTES)"
            else:
                free = available_memory_bytes()
                if free is None:
                    self._reserved[owner] = needed
                    return
                available = free
                where = "of memory available on this machine"
            if needed - held > available:
                raise OutOfMemory(
                    f"Out of memory: {replicas} replica(s) of this model need about {_gib(needed - held)} "
                    f"{'more ' if held else ''}but only "
                    f"{_gib(max(available, 0))} {where} is left; lower minReplica or maxReplica, pause "
                    "another endpoint or choose a smaller model"
                )
            self._reserved[owner] = needed

    def release(self, owner: object) -> None:
        with self._lock:
            self._reserved.pop(owner, None)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"
