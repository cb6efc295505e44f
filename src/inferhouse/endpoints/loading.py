"""How endpoints load and unload on this server: the loads in progress, the deployments that serve, and the
states each endpoint goes through on the way. ``EndpointManager`` builds on it with what is asked of
endpoints (create, update, pause, ...) and what other servers on a shared database change.

All state changes happen on the event loop; models load in worker threads.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from functools import partial

from inferhouse.endpoints.autoscale import Autoscaler
from inferhouse.endpoints.book import EndpointBook
from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import EndpointConfig, State, StoredEndpoint
from inferhouse.endpoints.deployment import Deployment, retire_loaded
from inferhouse.endpoints.idle import IdleWatch
from inferhouse.endpoints.logs import EndpointLogs, current_endpoint
from inferhouse.errors import InferhouseError
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

DeploymentLoader = Callable[[EndpointConfig, Settings, Metrics, MemoryBudget], Deployment]

# What a first 503 promises before this endpoint has been timed loading.
_DEFAULT_ESTIMATED_LOAD_SECONDS = 10.0


class EndpointLoading:
    """What the manager builds on: each endpoint's load, deployment and state on this server."""

    def __init__(
        self,
        settings: Settings,
        book: EndpointBook,
        metrics: Metrics,
        loader: DeploymentLoader,
        clock: Callable[[], float],
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._loader = loader
        self._book = book
        self._records = book.records
        self._deployments: dict[str, Deployment] = {}
        self._loads: dict[str, asyncio.Task[None]] = {}
        self._idle = IdleWatch(clock)
        self._load_seconds: dict[str, float] = {}
        self.budget = MemoryBudget(settings.endpoint_memory_bytes)
        self.logs = EndpointLogs()
        self._autoscaler = Autoscaler(settings, metrics, self.logs.add, clock)

    async def wait_until_settled(self) -> None:
        """Wait for every load in progress (tests and ``serve --wait``)."""
        while self._loads:
            await asyncio.wait(list(self._loads.values()))

    def estimated_load_seconds(self, name: str) -> float:
        return round(self._load_seconds.get(name, _DEFAULT_ESTIMATED_LOAD_SECONDS), 1)

    # -- loading --------------------------------------------------------------------------------------

    def _start_load(self, name: str, config: EndpointConfig, *, updating: bool = False) -> None:
        previous = self._loads.pop(name, None)
        if previous is not None:
            previous.cancel()
        record = self._records[name]
        self._set_state(record, State.UPDATING if updating else State.INITIALIZING, None)
        self._loads[name] = asyncio.create_task(self._load(name, config, updating), name=f"load-{name}")

    async def _load(self, name: str, config: EndpointConfig, updating: bool) -> None:
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        self.logs.add(name, f"loading {config.model.repository} ({config.compute.replicas} replica(s))")
        context = contextvars.copy_context()
        context.run(current_endpoint.set, name)
        load = partial(self._loader, config, self._settings, self._metrics, self.budget)
        future = loop.run_in_executor(None, context.run, load)
        try:
            deployment = await asyncio.shield(future)
        except asyncio.CancelledError:
            future.add_done_callback(retire_loaded)  # the thread finishes anyway; free what it loaded
            raise
        except InferhouseError as error:
            self._loaded_failed(name, error.message, updating)
            return
        except Exception as error:  # a loader bug must land in `failed`, never take the server down
            log.exception("loading endpoint %s failed", name)
            self._loaded_failed(name, f"Could not load the model: {type(error).__name__}: {error}", updating)
            return
        finally:
            if self._loads.get(name) is asyncio.current_task():
                del self._loads[name]
        elapsed = time.perf_counter() - started
        self._load_seconds[name] = elapsed
        self._metrics.model_load_seconds.observe(elapsed)
        record = self._records.get(name)
        if record is None:  # deleted while loading
            deployment.retire()
            return
        old = self._deployments.get(name)
        self._deployments[name] = deployment
        if old is not None:
            old.retire()
        if record.config.model.task is None:
            record.config = record.config.with_task(deployment.task)
        record.serving = deployment.config
        self._idle.used(name)
        self._set_state(record, State.RUNNING, None)
        self._metrics.endpoint_replicas.labels(name).set(deployment.replicas)
        self._autoscaler.started(name, deployment.replicas)
        message = (
            f"running: task {deployment.task}, {deployment.replicas} replica(s), loaded in {elapsed:.1f}s"
        )
        self.logs.add(name, message)
        log.info("endpoint %s %s", name, message)

    def _loaded_failed(self, name: str, message: str, updating: bool) -> None:
        record = self._records.get(name)
        if record is None:
            return
        if updating and name in self._deployments:
            self._set_state(record, State.UPDATE_FAILED, message)
            self.logs.add(name, f"update failed, the previous model keeps serving: {message}", "ERROR")
        else:
            self._set_state(record, State.FAILED, message)
            self.logs.add(name, f"failed: {message}", "ERROR")
        log.error("endpoint %s: %s", name, message)

    def _unload(self, name: str) -> None:
        load = self._loads.pop(name, None)
        if load is not None:
            load.cancel()
        deployment = self._deployments.pop(name, None)
        if deployment is not None:
            deployment.retire()
        self._metrics.endpoint_replicas.labels(name).set(0)
        self._autoscaler.forget(name)

    def _set_state(self, record: StoredEndpoint, state: State, message: str | None) -> None:
        self._book.set_state(record, state, message)

    def _observe_state(self, name: str) -> None:
        self._book.observe_state(name)
