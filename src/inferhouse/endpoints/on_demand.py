"""Models loaded on first use and shared by directory, with the serverless Inference API's semantics.

The first call for a model starts its load and, unless it asked to wait, answers
:class:`~inferhouse.errors.ModelLoading` (503 with ``estimated_time``). A failed load is reported once,
to the callers waiting on it or else to the next caller, and the call after that tries again. At most
``capacity`` models stay loaded; past it the least recently used is handed to ``unload``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Generic, TypeVar

from inferhouse.errors import BackendFailure, InferhouseError, ModelLoading

log = logging.getLogger(__name__)

T = TypeVar("T")

# What a first 503 promises before any model has been timed on this machine.
DEFAULT_ESTIMATED_LOAD_SECONDS = 10.0


class OnDemand(Generic[T]):
    def __init__(
        self,
        capacity: Callable[[], int],
        unload: Callable[[T], None],
        on_loaded: Callable[[float], None] | None = None,
    ) -> None:
        self._capacity = capacity
        self._unload = unload
        self._on_loaded = on_loaded
        self._loaded: OrderedDict[Path, T] = OrderedDict()
        self._loading: dict[Path, asyncio.Task[T]] = {}
        self._failed: dict[Path, InferhouseError] = {}
        self._load_seconds: list[float] = []

    def loaded(self) -> list[T]:
        return list(self._loaded.values())

    def estimated_load_seconds(self) -> float:
        if not self._load_seconds:
            return DEFAULT_ESTIMATED_LOAD_SECONDS
        return round(sum(self._load_seconds) / len(self._load_seconds), 1)

    async def get(
        self, model_id: str, path: Path, load: Callable[[], Awaitable[T]], *, wait: bool = True
    ) -> T:
        """The model loaded from ``path``; ``load`` makes it when it is not there yet."""
        found = self._loaded.get(path)
        if found is not None:
            self._loaded.move_to_end(path)
            return found
        failure = self._failed.pop(path, None)
        if failure is not None:
            raise failure  # reported once; the next call tries to load again
        task = self._loading.get(path)
        if task is None:
            task = asyncio.create_task(self._load(model_id, path, load), name=f"load-{model_id}")
            task.add_done_callback(partial(self._remember_failure, path))
            self._loading[path] = task
        if not wait:
            raise ModelLoading(model_id, self.estimated_load_seconds())
        try:
            return await asyncio.shield(task)
        except Exception as error:
            self._failed.pop(path, None)  # the waiting callers are told now; the next one loads again
            raise as_load_failure(error) from None

    def take_all(self) -> list[T]:
        """Every loaded model, forgotten here (for a shutdown that closes them); loads under way are
        cancelled."""
        for task in list(self._loading.values()):
            task.cancel()
        taken = list(self._loaded.values())
        self._loaded.clear()
        return taken

    async def _load(self, model_id: str, path: Path, load: Callable[[], Awaitable[T]]) -> T:
        started = time.perf_counter()
        try:
            made = await load()
        finally:
            del self._loading[path]
        elapsed = time.perf_counter() - started
        self._load_seconds.append(elapsed)
        if self._on_loaded is not None:
            self._on_loaded(elapsed)
        log.info("loaded %s in %.1fs", model_id, elapsed)
        self._loaded[path] = made
        while len(self._loaded) > self._capacity():
            _, oldest = self._loaded.popitem(last=False)
            self._unload(oldest)
        return made

    def _remember_failure(self, path: Path, task: asyncio.Task[T]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        log.error("loading %s failed: %s", path, error)
        self._failed[path] = as_load_failure(error)


def as_load_failure(error: BaseException | None) -> InferhouseError:
    """What a caller is told of a failed load: the error itself when it is one of ours, else a 424."""
    if isinstance(error, InferhouseError):
        return error
    return BackendFailure(f"Could not load the model: {error}")
