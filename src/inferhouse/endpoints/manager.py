"""The endpoint manager: creates, loads, updates, pauses, scales to zero and deletes endpoints.

All state changes happen on the event loop; models load in worker threads. A request holds the
deployment it started on until it finishes, so an update or an unload never drops it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial

from inferhouse.auth import Principal
from inferhouse.endpoints.access import check_call
from inferhouse.endpoints.autoscale import Autoscaler, autoscale_forever
from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import (
    RESTARTED_STATES,
    SERVING_STATES,
    EndpointConfig,
    EndpointStatus,
    State,
    StoredEndpoint,
    now_iso,
)
from inferhouse.endpoints.deployment import Deployment, load_deployment, retire_loaded
from inferhouse.endpoints.families import check_task
from inferhouse.endpoints.idle import IdleWatch, reap_forever
from inferhouse.endpoints.logs import EndpointLogs, current_endpoint
from inferhouse.endpoints.store import EndpointStore
from inferhouse.errors import (
    AlreadyExists,
    BadRequest,
    EndpointFailed,
    EndpointNotFound,
    EndpointPaused,
    InferhouseError,
    ModelLoading,
)
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

DeploymentLoader = Callable[[EndpointConfig, Settings, Metrics, MemoryBudget], Deployment]

# What a first 503 promises before this endpoint has been timed loading.
_DEFAULT_ESTIMATED_LOAD_SECONDS = 10.0


class EndpointManager:
    def __init__(
        self,
        settings: Settings,
        store: EndpointStore,
        metrics: Metrics,
        *,
        loader: DeploymentLoader = load_deployment,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._store = store
        self._loader = loader
        self._records: dict[str, StoredEndpoint] = {}
        self._deployments: dict[str, Deployment] = {}
        self._loads: dict[str, asyncio.Task[None]] = {}
        self._idle = IdleWatch(clock)
        self._load_seconds: dict[str, float] = {}
        self._loops: list[asyncio.Task[None]] = []  # the idle reaper and the autoscaler
        self.budget = MemoryBudget(settings.endpoint_memory_bytes)
        self.logs = EndpointLogs()
        self._autoscaler = Autoscaler(settings, metrics, self.logs.add, clock)
        self.namespace = settings.namespace

    # -- start and stop ---------------------------------------------------------------------------

    async def start(self, declared: Iterable[EndpointConfig] = ()) -> None:
        """Bring back every stored endpoint in its state, create the declared ones that are missing,
        and start loading all that should run; returns without waiting for the loads."""
        logging.getLogger().addHandler(self.logs)
        for record in self._store.load_all():
            self._records[record.config.name] = record
        for config in declared:
            if config.name not in self._records:
                await self.create(config)
            elif self._records[config.name].config.model.repository != config.model.repository:
                await self.update(config.name, replace(self._records[config.name].config, model=config.model))
        for name, record in self._records.items():
            if record.status.state in RESTARTED_STATES and name not in self._loads:
                self._start_load(name, record.serving or record.config)
            self._observe_state(name)
        every, scale = self._settings, partial(self._autoscaler.tick, self._records, self._deployments)
        self._loops = [
            asyncio.create_task(reap_forever(lambda: every.idle_check_seconds, self.reap_idle)),
            asyncio.create_task(autoscale_forever(lambda: every.autoscale_interval_seconds, scale)),
        ]

    async def wait_until_settled(self) -> None:
        """Wait for every load in progress (tests and ``serve --wait``)."""
        while self._loads:
            await asyncio.wait(list(self._loads.values()))

    async def close(self) -> None:
        logging.getLogger().removeHandler(self.logs)
        for loop in self._loops:
            loop.cancel()
        for task in list(self._loads.values()):
            task.cancel()
        for deployment in self._deployments.values():
            await asyncio.to_thread(deployment.close)
        self._deployments.clear()

    # -- what exists --------------------------------------------------------------------------------

    def __iter__(self) -> Iterator[StoredEndpoint]:
        return iter(list(self._records.values()))

    def names(self) -> list[str]:
        return sorted(self._records)

    def get(self, name: str) -> StoredEndpoint:
        record = self._records.get(name)
        if record is None:
            raise EndpointNotFound(f"Endpoint {name} not found")
        return record

    def deployment(self, name: str) -> Deployment | None:
        return self._deployments.get(name)

    def serving_model(self, model_id: str) -> str | None:
        """A running embedding endpoint that serves ``model_id`` at its default revision: serverless
        calls for that model share its replicas instead of loading a second copy."""
        for name, deployment in self._deployments.items():
            model = deployment.config.model
            if (
                deployment.embeds
                and model.repository.lower() == model_id.lower()
                and model.revision in (None, "main")
                and self._records[name].status.state in SERVING_STATES
            ):
                return name
        return None

    def ready_replicas(self, name: str) -> int:
        deployment = self._deployments.get(name)
        return deployment.replicas if deployment is not None else 0

    def target_replicas(self, name: str) -> int:
        """Where replicas are headed: the copies loading, the autoscaler's target, or 0 while down."""
        if name in self._loads and name not in self._deployments:
            return self.get(name).config.compute.replicas
        return self._autoscaler.target(name, self._deployments.get(name))

    # -- lifecycle -----------------------------------------------------------------------------------

    async def create(self, config: EndpointConfig, creator: str | None = None) -> StoredEndpoint:
        """Create and start loading; ``creator`` is the id of the token that asked (see endpoints.access)."""
        if config.name in self._records:
            raise AlreadyExists(f"Endpoint {config.name} already exists")
        check_task(config.model.task)
        record = StoredEndpoint(config, EndpointStatus(State.PENDING), creator=creator)
        self._records[config.name] = record
        self._save(record)
        self.logs.add(
            config.name, f"created: {config.model.repository} ({config.model.task or 'task from model'})"
        )
        self._start_load(config.name, config)
        return record

    async def update(self, name: str, config: EndpointConfig) -> StoredEndpoint:
        record = self.get(name)
        check_task(config.model.task)
        previous = record.config
        record.config = config
        state = record.status.state
        self.logs.add(name, "configuration updated")
        if state in (State.PAUSED, State.SCALED_TO_ZERO) or not config.needs_reload(previous):
            self._save(record)  # takes effect on the next start
        elif state in SERVING_STATES and name in self._deployments:
            self._start_load(name, config, updating=True)
        else:  # loading, pending or failed: start over with the new configuration
            self._start_load(name, config)
        return record

    async def pause(self, name: str) -> StoredEndpoint:
        record = self.get(name)
        self._unload(name)
        self._set_state(record, State.PAUSED, None)
        self.logs.add(name, "paused")
        return record

    async def resume(self, name: str) -> StoredEndpoint:
        record = self.get(name)
        if record.status.state in SERVING_STATES:
            raise BadRequest(f"Endpoint {name} is already running")
        if name not in self._loads:
            self.logs.add(name, "resumed")
            self._start_load(name, record.config)
        return record

    async def scale_to_zero(self, name: str) -> StoredEndpoint:
        record = self.get(name)
        if record.status.state is State.PAUSED:
            raise BadRequest(f"Endpoint {name} is paused; resume it instead")
        self._unload(name)
        self._set_state(record, State.SCALED_TO_ZERO, None)
        self.logs.add(name, "scaled to zero")
        return record

    async def delete(self, name: str) -> None:
        self.get(name)
        self._unload(name)
        del self._records[name]
        self._store.delete(name)
        self.logs.forget(name)
        self._idle.forget(name)
        for state in State:
            self._metrics.endpoint_state.labels(name, state.value).set(0)
        log.info("endpoint %s deleted", name)

    # -- serving -------------------------------------------------------------------------------------

    def authorize(self, name: str, principal: Principal | None) -> None:
        """Whether ``principal`` (None: no token sent) may call endpoint ``name``."""
        check_call(name, self._records.get(name), principal)

    def healthy(self, name: str) -> bool:
        """Whether the endpoint can answer now; asking does not wake one scaled to zero."""
        record = self.get(name)
        return record.status.state in SERVING_STATES and name in self._deployments

    @asynccontextmanager
    async def serving(
        self, name: str, *, wait: bool = False, scale_up_timeout: float = 0.0
    ) -> AsyncIterator[Deployment]:
        """The endpoint's deployment for one request; loads it again if it was scaled to zero.

        Without ``wait`` a cold endpoint answers :class:`ModelLoading` (503 with ``estimated_time``),
        after waiting up to ``scale_up_timeout`` seconds for it to come up (``X-Scale-Up-Timeout``).
        """
        started = time.perf_counter()
        outcome = "ok"
        try:
            deployment = await self._acquire(name, wait, started + scale_up_timeout)
            deployment.enter()
            self._idle.used(name)
            try:
                yield deployment
            finally:
                deployment.leave()
                self._idle.used(name)
        except InferhouseError as error:
            outcome = error.kind
            raise
        except BaseException:
            outcome = "internal"
            raise
        finally:
            if name in self._records:
                self._metrics.endpoint_requests.labels(name, outcome).inc()
                self._metrics.endpoint_latency.labels(name).observe(time.perf_counter() - started)

    async def _acquire(self, name: str, wait: bool, deadline: float) -> Deployment:
        while True:
            record = self.get(name)
            state = record.status.state
            deployment = self._deployments.get(name)
            if deployment is not None and state in SERVING_STATES:
                return deployment
            if state is State.PAUSED:
                raise EndpointPaused(
                    f"Endpoint {name} is paused; resume it "
                    f"(inferhouse endpoints resume {name}) to serve requests"
                )
            if state is State.FAILED:
                raise EndpointFailed(f"Endpoint {name} failed to start: {record.status.message}")
            load = self._loads.get(name)
            if load is None:  # scaled to zero: the request wakes it
                self.logs.add(name, "a request arrived while scaled to zero: loading")
                self._start_load(name, record.serving or record.config)
                load = self._loads[name]
            left = None if wait else deadline - time.perf_counter()
            if left is not None and left <= 0:
                raise ModelLoading(record.config.model.repository, self.estimated_load_seconds(name))
            await asyncio.wait({load}, timeout=left)

    def estimated_load_seconds(self, name: str) -> float:
        return round(self._load_seconds.get(name, _DEFAULT_ESTIMATED_LOAD_SECONDS), 1)

    # -- scale to zero --------------------------------------------------------------------------------

    def reap_idle(self) -> list[str]:
        """Unload every running endpoint with minReplica 0 idle for its scaleToZeroTimeout (minutes)."""
        reaped = []
        for name, timeout in self._idle.due(self._records, self._deployments):
            self._unload(name)
            self._set_state(self._records[name], State.SCALED_TO_ZERO, None)
            self.logs.add(name, f"scaled to zero after {timeout} minute(s) without requests")
            reaped.append(name)
        return reaped

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
        record.status.state = state
        record.status.message = message
        record.status.updated_at = now_iso()
        self._save(record)
        self._observe_state(record.config.name)

    def _save(self, record: StoredEndpoint) -> None:
        self._store.save(record)

    def _observe_state(self, name: str) -> None:
        current = self._records[name].status.state
        for state in State:
            self._metrics.endpoint_state.labels(name, state.value).set(1 if state is current else 0)
