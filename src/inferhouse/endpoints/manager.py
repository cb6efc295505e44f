"""The endpoint manager: creates, loads, updates, pauses, scales to zero and deletes endpoints.

All state changes happen on the event loop; models load in worker threads. A request holds the
deployment it started on until it finishes, so an update or an unload never drops it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from functools import partial

from inferhouse.auth import Principal
from inferhouse.endpoints.access import check_call
from inferhouse.endpoints.autoscale import autoscale_forever
from inferhouse.endpoints.book import EndpointBook
from inferhouse.endpoints.config import (
    RESTARTED_STATES,
    SERVING_STATES,
    EndpointConfig,
    EndpointStatus,
    State,
    StoredEndpoint,
)
from inferhouse.endpoints.deployment import Deployment, load_deployment
from inferhouse.endpoints.families import check_task
from inferhouse.endpoints.history import RequestHistory
from inferhouse.endpoints.idle import reap_forever
from inferhouse.endpoints.loading import DeploymentLoader, EndpointLoading
from inferhouse.endpoints.reconcile import Action, Held, plan
from inferhouse.endpoints.store import EndpointStore
from inferhouse.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    EndpointFailed,
    EndpointPaused,
    InferhouseError,
    ModelLoading,
)
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)


class EndpointManager(EndpointLoading):
    def __init__(
        self,
        settings: Settings,
        store: EndpointStore,
        metrics: Metrics,
        *,
        loader: DeploymentLoader = load_deployment,
        clock: Callable[[], float] = time.monotonic,
        shared: bool = False,
    ) -> None:
        # shared: servers on one database follow what each other stores (follow, endpoints.reconcile)
        super().__init__(settings, EndpointBook(store, metrics, shared=shared), metrics, loader, clock)
        self._loops: list[asyncio.Task[None]] = []  # the idle reaper and the autoscaler
        self.namespace = settings.namespace
        self.history = RequestHistory()  # the last hour of requests, for the dashboard

    # -- start and stop ---------------------------------------------------------------------------

    async def start(self, declared: Iterable[EndpointConfig] = ()) -> None:
        """Bring back every stored endpoint in its state, create the declared ones that are missing,
        and start loading all that should run; returns without waiting for the loads."""
        logging.getLogger().addHandler(self.logs)
        self._book.load()
        for config in declared:
            try:
                await self._declare(config)
            except (AlreadyExists, Conflict):  # another server on the database was first: now followed
                await self._declare(config)
        for name, record in self._records.items():
            if record.status.state in RESTARTED_STATES and name not in self._loads:
                self._start_load(name, record.serving or record.config)
            self._observe_state(name)
        every, scale = self._settings, partial(self._autoscaler.tick, self._records, self._deployments)
        self._loops = [
            asyncio.create_task(reap_forever(lambda: every.idle_check_seconds, self.reap_idle)),
            asyncio.create_task(autoscale_forever(lambda: every.autoscale_interval_seconds, scale)),
        ]

    async def _declare(self, config: EndpointConfig) -> None:
        record = self._records.get(config.name)
        if record is None:
            await self.create(config)
        elif record.config.model.repository != config.model.repository:
            await self.update(config.name, replace(record.config, model=config.model))

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
        return iter(self._book)

    def names(self) -> list[str]:
        return sorted(self._records)

    def get(self, name: str) -> StoredEndpoint:
        return self._book.get(name)

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
        record = self._commit(StoredEndpoint(config, EndpointStatus(State.PENDING), creator=creator))
        self.logs.add(
            config.name, f"created: {config.model.repository} ({config.model.task or 'task from model'})"
        )
        self._start_load(config.name, config)
        return record

    async def update(self, name: str, config: EndpointConfig) -> StoredEndpoint:
        record = self.get(name)
        check_task(config.model.task)
        state = record.status.state
        # Paused or scaled to zero, or a change that needs no reload: stored, it applies at the next start.
        reload = state not in (State.PAUSED, State.SCALED_TO_ZERO) and config.needs_reload(record.config)
        self._commit(self._book.next(name, config=config))
        self.logs.add(name, "configuration updated")
        if reload:  # while serving the old model keeps answering; loading, pending or failed start over
            self._start_load(name, config, updating=state in SERVING_STATES and name in self._deployments)
        return record

    async def pause(self, name: str) -> StoredEndpoint:
        record = self.get(name)
        self._commit(self._book.next(name, state=State.PAUSED))
        self._unload(name)
        self._set_state(record, State.PAUSED, None)
        self.logs.add(name, "paused")
        return record

    async def resume(self, name: str) -> StoredEndpoint:
        record = self.get(name)
        if record.status.state in SERVING_STATES:
            raise BadRequest(f"Endpoint {name} is already running")
        if name not in self._loads:
            self._commit(self._book.next(name, state=State.PENDING))
            self.logs.add(name, "resumed")
            self._start_load(name, record.config)
        return record

    async def scale_to_zero(self, name: str) -> StoredEndpoint:
        record = self.get(name)
        if record.status.state is State.PAUSED:
            raise BadRequest(f"Endpoint {name} is paused; resume it instead")
        self._commit(self._book.next(name, state=State.SCALED_TO_ZERO))
        self._unload(name)
        self._set_state(record, State.SCALED_TO_ZERO, None)
        self.logs.add(name, "scaled to zero")
        return record

    async def delete(self, name: str) -> None:
        self.get(name)
        self._book.store.delete(name)
        self._drop(name)
        log.info("endpoint %s deleted", name)

    def _drop(self, name: str) -> None:
        self._unload(name)
        self._book.forget(name)
        self.logs.forget(name)
        self.history.forget(name)
        self._idle.forget(name)

    # -- following the stored endpoints ----------------------------------------------------------------

    def _commit(self, row: StoredEndpoint) -> StoredEndpoint:
        """Store a change (EndpointBook.commit); when another server changed the endpoint first, follow
        what is stored before refusing, so that a retry starts from there."""
        try:
            return self._book.commit(row)
        except (AlreadyExists, Conflict):
            if self._book.shared:
                self.follow(self._book.store.load_all())
            raise

    def follow(self, stored: list[StoredEndpoint]) -> None:
        """Bring this server's endpoints in line with the rows servers on the same database stored."""
        held = {
            name: Held(
                self._book.rows[name],
                record.status.state,
                name in self._deployments or name in self._loads,
            )
            for name, record in self._records.items()
        }
        for step in plan(held, stored):
            if step.row is None:
                self._drop(step.name)
                log.info("endpoint %s deleted through another server", step.name)
                continue
            record = self._book.hold(step.row)
            self.logs.add(step.name, f"changed through another server: {step.action.value}")
            if step.action in (Action.START, Action.REPLACE):
                self._start_load(step.name, step.row.config, updating=step.name in self._deployments)
            elif step.action in (Action.PAUSE, Action.SCALE_TO_ZERO):
                self._unload(step.name)
                self._set_state(record, step.row.status.state, None)
            self._observe_state(step.name)

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
                elapsed = time.perf_counter() - started
                self._metrics.endpoint_latency.labels(name).observe(elapsed)
                self.history.record(name, elapsed, error=outcome != "ok")

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
