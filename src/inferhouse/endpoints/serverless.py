"""Serverless models that are not embedders: text generation and text-to-image, loaded by id on demand.

``POST /models/{id}`` serves embedding models from the engine's pool (a fast path this leaves alone);
a model whose directory says it generates text or images is loaded here instead, as a deployment
without an endpoint record, with the pool's semantics (``engine/on_demand.py``); the least recently
used is unloaded once its requests are done. These count apart from the pool's embedders.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from inferhouse.endpoints.config import GENERATION_TASKS, IMAGE_TASKS, EndpointConfig, ModelConfig
from inferhouse.endpoints.deployment import Deployment, MemoryBudget, infer_task, load_deployment
from inferhouse.engine.on_demand import OnDemand
from inferhouse.errors import TaskMismatch
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

SERVERLESS_TASKS = GENERATION_TASKS | IMAGE_TASKS
DeploymentLoader = Callable[[EndpointConfig, Settings, Metrics, MemoryBudget], Deployment]


class ServerlessModels:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        budget: MemoryBudget,
        resolve: Callable[[str], Path],
        *,
        loader: DeploymentLoader = load_deployment,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._budget = budget
        self._resolve = resolve
        self._loader = loader
        self._tasks: dict[Path, str] = {}
        self._models: OnDemand[Deployment] = OnDemand(
            lambda: settings.max_loaded_models, _unload, metrics.model_load_seconds.observe
        )

    def task_of(self, model_id: str) -> str | None:
        """The task this component serves ``model_id`` with, or None when it is the pool's (an embedder).

        Raises :class:`~inferhouse.errors.ModelNotFound` for an id that does not resolve offline.
        """
        path = self._resolve(model_id)
        task = self._tasks.get(path)
        if task is None:
            task = self._tasks[path] = infer_task(path)
        return task if task in SERVERLESS_TASKS else None

    def loaded(self) -> list[Deployment]:
        return self._models.loaded()

    def estimated_load_seconds(self) -> float:
        return self._models.estimated_load_seconds()

    @asynccontextmanager
    async def serving(self, model_id: str, *, wait: bool) -> AsyncIterator[Deployment]:
        """The model's deployment for one request (held until the request, or its stream, ends)."""
        task = self.task_of(model_id)
        if task is None:
            raise TaskMismatch(f"Model {model_id} is not a text-generation or text-to-image model")
        path = self._resolve(model_id)
        load = partial(self._load, model_id, task)
        deployment = await self._models.get(model_id, path, load, wait=wait)
        while deployment.retired:  # evicted by another model's load before this caller resumed
            deployment = await self._models.get(model_id, path, load, wait=wait)
        deployment.enter()
        try:
            yield deployment
        finally:
            deployment.leave()

    async def _load(self, model_id: str, task: str) -> Deployment:
        config = EndpointConfig(name=model_id, model=ModelConfig(repository=model_id, task=task))
        future = asyncio.get_running_loop().run_in_executor(
            None, self._loader, config, self._settings, self._metrics, self._budget
        )
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_retire_result)  # the thread finishes anyway; free what it loaded
            raise

    async def close(self) -> None:
        for deployment in self._models.take_all():
            await asyncio.to_thread(deployment.close)


def _unload(deployment: Deployment) -> None:
    log.info("unloading serverless model %s (least recently used)", deployment.config.name)
    deployment.retire()  # closes in a thread once its last request has left


def _retire_result(future: asyncio.Future[Deployment]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().retire()
