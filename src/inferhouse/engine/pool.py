"""Loaded models: started on demand, shared by id, the least recently used unloaded first."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from functools import partial
from pathlib import Path

from inferhouse.engine.backends.base import EmbeddingBackend
from inferhouse.engine.backends.choose import load_embedding_backend
from inferhouse.engine.embedder import Embedder, build_embedder
from inferhouse.engine.on_demand import OnDemand
from inferhouse.engine.sources import resolve_model
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

# Loads the model in a directory with the server's settings (backend and precision choices, data dir).
BackendLoader = Callable[[Path, Settings], EmbeddingBackend]


def load_torch_backend(path: Path, settings: Settings) -> EmbeddingBackend:
    """The default loader: the same as dedicated endpoints', on the device torch picks (a GPU when there
    is one). Its name predates ONNX Runtime, which serves here too where the settings choose it."""
    return load_embedding_backend(path, settings, device=None)


class ModelPool:
    """The serverless models, keyed by resolved directory so two ids of the same weights share one copy;
    at most ``max_loaded_models`` stay loaded. Endpoints load their own (see ``inferhouse.endpoints``)."""

    def __init__(
        self, settings: Settings, metrics: Metrics, loader: BackendLoader = load_torch_backend
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._loader = loader
        self._models: OnDemand[Embedder] = OnDemand(
            lambda: settings.max_loaded_models, _unload, metrics.model_load_seconds.observe
        )
        self._resolved: dict[str, Path] = {}

    def resolve(self, model_id: str) -> Path:
        path = self._resolved.get(model_id)
        if path is None:
            path = resolve_model(model_id, self._settings.models)
            self._resolved[model_id] = path
        return path

    def loaded(self) -> list[Embedder]:
        return self._models.loaded()

    def estimated_load_seconds(self) -> float:
        return self._models.estimated_load_seconds()

    async def get(self, model_id: str, *, wait: bool = True) -> Embedder:
        """Return the loaded model, or start loading it and either wait or raise :class:`ModelLoading`."""
        path = self.resolve(model_id)
        return await self._models.get(model_id, path, partial(self._load, model_id, path), wait=wait)

    async def _load(self, model_id: str, path: Path) -> Embedder:
        backend = await asyncio.to_thread(self._loader, path, self._settings)
        log.info("%s: sequence packing %s", model_id, "on" if backend.packed_token_cost else "off")
        return build_embedder(model_id, [backend], self._settings, self._metrics)

    def close(self) -> None:
        for embedder in self._models.take_all():
            embedder.close()


def _unload(embedder: Embedder) -> None:
    log.info("unloading %s (least recently used)", embedder.model_id)
    # Closing waits for its queued requests: never on the event loop.
    threading.Thread(target=embedder.close, name=f"unload-{embedder.model_id}", daemon=True).start()
