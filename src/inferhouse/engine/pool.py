"""Loaded models: started on demand, shared by id, the least recently used unloaded first."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import partial
from pathlib import Path

from inferhouse.engine.backends.base import EmbeddingBackend
from inferhouse.engine.backends.choose import load_embedding_backend
from inferhouse.engine.batcher import Batcher
from inferhouse.engine.cache import EmbeddingCache
from inferhouse.engine.embedder import Embedder
from inferhouse.engine.sources import resolve_model
from inferhouse.errors import BackendFailure, InferhouseError, ModelLoading
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

# Loads the model in a directory with the server's settings (backend and precision choices, data dir).
BackendLoader = Callable[[Path, Settings], EmbeddingBackend]

# What a first 503 promises before any model has been timed on this machine.
_DEFAULT_ESTIMATED_LOAD_SECONDS = 10.0


def load_torch_backend(path: Path, settings: Settings) -> EmbeddingBackend:
    """The default loader: the same as dedicated endpoints', on the device torch picks (a GPU when there
    is one). Its name predates ONNX Runtime, which serves here too where the settings choose it."""
    return load_embedding_backend(path, settings, device=None)


def build_embedder(
    label: str, replicas: list[EmbeddingBackend], settings: Settings, metrics: Metrics
) -> Embedder:
    """An embedder over ``replicas`` (copies of a model serving one queue), named ``label`` in metrics."""
    batcher = Batcher(
        replicas,
        max_batch_tokens=settings.max_batch_tokens,
        max_batch_size=settings.max_batch_size,
        max_queued_inputs=settings.max_queued_inputs,
        max_wait_s=settings.max_batch_wait_ms / 1000,
        on_batch=partial(metrics.observe_batch, label),
        name=label,
    )
    cache = EmbeddingCache(settings.cache_bytes)
    return Embedder(label, replicas[0], batcher, cache, partial(metrics.observe_cache, label))


class ModelPool:
    """The serverless models, keyed by resolved directory so two ids of the same weights share one copy;
    at most ``max_loaded_models`` stay loaded. Endpoints load their own (see ``inferhouse.endpoints``)."""

    def __init__(
        self, settings: Settings, metrics: Metrics, loader: BackendLoader = load_torch_backend
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._loader = loader
        self._loaded: OrderedDict[Path, Embedder] = OrderedDict()
        self._loading: dict[Path, asyncio.Task[Embedder]] = {}
        self._load_seconds: list[float] = []
        self._failed: dict[Path, InferhouseError] = {}
        self._resolved: dict[str, Path] = {}

    def resolve(self, model_id: str) -> Path:
        path = self._resolved.get(model_id)
        if path is None:
            path = resolve_model(model_id, self._settings.models)
            self._resolved[model_id] = path
        return path

    def loaded(self) -> list[Embedder]:
        return list(self._loaded.values())

    def estimated_load_seconds(self) -> float:
        if not self._load_seconds:
            return _DEFAULT_ESTIMATED_LOAD_SECONDS
        return round(sum(self._load_seconds) / len(self._load_seconds), 1)

    async def get(self, model_id: str, *, wait: bool = True) -> Embedder:
        """Return the loaded model, or start loading it and either wait or raise :class:`ModelLoading`."""
        path = self.resolve(model_id)
        embedder = self._loaded.get(path)
        if embedder is not None:
            self._loaded.move_to_end(path)
            return embedder
        failure = self._failed.pop(path, None)
        if failure is not None:
            raise failure  # reported once; the next call tries to load again
        task = self._loading.get(path)
        if task is None:
            task = asyncio.create_task(self._load(model_id, path))
            task.add_done_callback(partial(self._remember_failure, path))
            self._loading[path] = task
        if not wait:
            raise ModelLoading(model_id, self.estimated_load_seconds())
        return await asyncio.shield(task)

    def _remember_failure(self, path: Path, task: asyncio.Task[Embedder]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is None:
            return
        log.error("loading %s failed: %s", path, error)
        self._failed[path] = (
            error
            if isinstance(error, InferhouseError)
            else BackendFailure(f"Could not load the model: {error}")
        )

    async def _load(self, model_id: str, path: Path) -> Embedder:
        started = time.perf_counter()
        try:
            backend = await asyncio.to_thread(self._loader, path, self._settings)
        finally:
            del self._loading[path]
        elapsed = time.perf_counter() - started
        self._load_seconds.append(elapsed)
        self._metrics.model_load_seconds.observe(elapsed)
        log.info(
            "loaded %s in %.1fs (sequence packing %s)",
            model_id,
            elapsed,
            "on" if backend.packed_token_cost else "off",
        )
        embedder = build_embedder(model_id, [backend], self._settings, self._metrics)
        self._loaded[path] = embedder
        self._evict()
        return embedder

    def _evict(self) -> None:
        while len(self._loaded) > self._settings.max_loaded_models:
            path = next(iter(self._loaded))
            embedder = self._loaded.pop(path)
            log.info("unloading %s (least recently used)", embedder.model_id)
            # Closing waits for its queued requests: never on the event loop.
            threading.Thread(target=embedder.close, name=f"unload-{embedder.model_id}", daemon=True).start()

    def close(self) -> None:
        for embedder in self._loaded.values():
            embedder.close()
        self._loaded.clear()
