"""Serverless models that are not embedders: text generation and text-to-image, loaded by id on demand.

``POST /models/{id}`` serves embedding models from the engine's pool (a fast path this leaves alone);
a model whose directory says it generates text or images is loaded here instead, as a deployment
without an endpoint record, with the pool's semantics: the first call starts the load and answers
503 with ``estimated_time`` unless it asked to wait (``x-wait-for-model``), a failed load is reported
once and tried again on the next call, and at most ``max_loaded_models`` stay loaded (the least
recently used is unloaded once its requests are done). These count apart from the pool's embedders.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

from inferhouse.endpoints.config import GENERATION_TASKS, IMAGE_TASKS, EndpointConfig, ModelConfig
from inferhouse.endpoints.deployment import Deployment, MemoryBudget, infer_task, load_deployment
from inferhouse.errors import BackendFailure, InferhouseError, ModelLoading, TaskMismatch
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

SERVERLESS_TASKS = GENERATION_TASKS | IMAGE_TASKS
DeploymentLoader = Callable[[EndpointConfig, Settings, Metrics, MemoryBudget], Deployment]
_DEFAULT_ESTIMATED_LOAD_SECONDS = 10.0


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
        self._loaded: OrderedDict[Path, Deployment] = OrderedDict()
        self._loading: dict[Path, asyncio.Task[Deployment]] = {}
        self._failed: dict[Path, InferhouseError] = {}
        self._load_seconds: list[float] = []

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
        return list(self._loaded.values())

    def estimated_load_seconds(self) -> float:
        if not self._load_seconds:
            return _DEFAULT_ESTIMATED_LOAD_SECONDS
        return round(sum(self._load_seconds) / len(self._load_seconds), 1)

    @asynccontextmanager
    async def serving(self, model_id: str, *, wait: bool) -> AsyncIterator[Deployment]:
        """The model's deployment for one request (held until the request, or its stream, ends)."""
        deployment = await self._get(model_id, wait=wait)
        deployment.enter()
        try:
            yield deployment
        finally:
            deployment.leave()

    async def _get(self, model_id: str, *, wait: bool) -> Deployment:
        task = self.task_of(model_id)
        if task is None:
            raise TaskMismatch(f"Model {model_id} is not a text-generation or text-to-image model")
        path = self._resolve(model_id)
        deployment = self._loaded.get(path)
        if deployment is not None:
            self._loaded.move_to_end(path)
            return deployment
        failure = self._failed.pop(path, None)
        if failure is not None:
            raise failure  # reported once; the next call tries to load again
        load = self._loading.get(path)
        if load is None:
            load = asyncio.create_task(self._load(model_id, path, task), name=f"serverless-{model_id}")
            load.add_done_callback(partial(self._remember_failure, path))
            self._loading[path] = load
        if not wait:
            raise ModelLoading(model_id, self.estimated_load_seconds())
        try:
            return await asyncio.shield(load)
        except Exception:
            failure = self._failed.pop(path, None)  # this caller is told now; the next one loads again
            if failure is None:
                raise
            raise failure from None

    def _remember_failure(self, path: Path, load: asyncio.Task[Deployment]) -> None:
        if load.cancelled() or load.exception() is None:
            return
        error = load.exception()
        log.error("loading serverless model %s failed: %s", path, error)
        self._failed[path] = (
            error
            if isinstance(error, InferhouseError)
            else BackendFailure(f"Could not load the model: {error}")
        )

    async def _load(self, model_id: str, path: Path, task: str) -> Deployment:
        config = EndpointConfig(name=model_id, model=ModelConfig(repository=model_id, task=task))
        started = time.perf_counter()
        future = asyncio.get_running_loop().run_in_executor(
            None, self._loader, config, self._settings, self._metrics, self._budget
        )
        try:
            deployment = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(_retire_result)  # the thread finishes anyway; free what it loaded
            raise
        finally:
            del self._loading[path]
        elapsed = time.perf_counter() - started
        self._load_seconds.append(elapsed)
        self._metrics.model_load_seconds.observe(elapsed)
        log.info("loaded serverless model %s (%s) in %.1fs", model_id, task, elapsed)
        self._loaded[path] = deployment
        self._evict()
        return deployment

    def _evict(self) -> None:
        while len(self._loaded) > self._settings.max_loaded_models:
            _, deployment = self._loaded.popitem(last=False)
            log.info("unloading serverless model %s (least recently used)", deployment.config.name)
            deployment.retire()  # closes in a thread once its last request has left

    async def close(self) -> None:
        for load in list(self._loading.values()):
            load.cancel()
        for deployment in self._loaded.values():
            await asyncio.to_thread(deployment.close)
        self._loaded.clear()


def _retire_result(future: asyncio.Future[Deployment]) -> None:
    if not future.cancelled() and future.exception() is None:
        future.result().retire()
