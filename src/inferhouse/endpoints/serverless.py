"""Serverless models: any model id loaded on first use, with the serverless Inference API's semantics.

``POST /models/{id}`` (and OpenAI calls naming a model id) reach models through here, whatever their
task: embedding models, text generation and text-to-image. Each loads as a deployment without an
endpoint record, on one device policy (a GPU when the machine has one), keyed by its resolved
directory so two ids of the same weights share one copy. A cold model answers 503 with
``estimated_time`` unless the caller waits (``on_demand.py``); at most ``max_loaded_models`` stay loaded
and the least recently used is unloaded once its requests are done.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import EndpointConfig, ModelConfig
from inferhouse.endpoints.deployment import Deployment, load_deployment
from inferhouse.endpoints.families import FAMILIES, family_of, serverless_task
from inferhouse.endpoints.on_demand import OnDemand
from inferhouse.engine.sources import resolve_model
from inferhouse.errors import TaskMismatch
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

DeploymentLoader = Callable[[EndpointConfig, Settings, Metrics, MemoryBudget], Deployment]
load_serverless: DeploymentLoader = partial(load_deployment, serverless=True)


class ServerlessModels:
    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        budget: MemoryBudget,
        resolve: Callable[[str], Path] | None = None,
        *,
        loader: DeploymentLoader = load_serverless,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._budget = budget
        self._resolve = resolve or (lambda model_id: resolve_model(model_id, settings.models))
        self._loader = loader
        self._paths: dict[str, Path] = {}
        self._tasks: dict[Path, str] = {}
        self._models: OnDemand[Deployment] = OnDemand(
            lambda: settings.max_loaded_models, _unload, metrics.model_load_seconds.observe
        )

    def resolve(self, model_id: str) -> Path:
        """The directory ``model_id`` names offline; raises :class:`~inferhouse.errors.ModelNotFound`."""
        path = self._paths.get(model_id)
        if path is None:
            path = self._paths[model_id] = self._resolve(model_id)
        return path

    def task_of(self, model_id: str) -> str:
        """The task ``model_id`` is served with: its own for text or image generation, else
        feature-extraction (an encoder embeds)."""
        path = self.resolve(model_id)
        task = self._tasks.get(path)
        if task is None:
            task = self._tasks[path] = serverless_task(path)
        return task

    def family_of(self, model_id: str) -> str:
        return family_of(self.task_of(model_id)).name

    def loaded(self) -> list[Deployment]:
        return self._models.loaded()

    def estimated_load_seconds(self) -> float:
        return self._models.estimated_load_seconds()

    @asynccontextmanager
    async def serving(
        self, model_id: str, *, wait: bool, family: str | None = None
    ) -> AsyncIterator[Deployment]:
        """The model's deployment for one request (held until the request, or its stream, ends).
        ``family`` refuses, before anything loads, a model of another task family."""
        task = self.task_of(model_id)
        if family is not None and family_of(task).name != family:
            wanted = ", ".join(sorted(FAMILIES[family].tasks))
            raise TaskMismatch(f"Model {model_id} is a {task} model; this call needs one of: {wanted}")
        path = self.resolve(model_id)
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
    log.info("unloading %s (least recently used)", deployment.config.name)
    deployment.retire()  # closes in a thread once its last request has left


def _retire_result(future: asyncio.Future[Deployment]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().retire()
