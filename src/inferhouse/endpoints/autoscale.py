"""Autoscaling: how many replicas each running endpoint should have, and the loop that gets it there.

:func:`plan` is the policy, a pure function. Every ``autoscale_interval_seconds`` the :class:`Autoscaler`
measures each endpoint's load (``pendingRequests``: work queued or running per replica; ``hardwareUsage``:
this process's CPU utilisation in percent) against its threshold. Above it for ``scale_up_seconds``, the
endpoint grows toward ``maxReplica`` (to the replicas that bring the load under the threshold); under it
for ``scale_down_seconds``, it shrinks toward max(1, ``minReplica``). Scaling to zero is the idle reaper's
(``endpoints/idle.py``). A scale runs :meth:`Runtime.scale` in a thread, one per endpoint at a time; copies
it adds are first reserved in the memory budget, and a refusal is logged, not fatal. The generation
family keeps one copy (it batches requests inside it): it has no runtime to scale and does not autoscale.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inferhouse.endpoints.config import SERVING_STATES, ScalingMetric, StoredEndpoint
from inferhouse.endpoints.deployment import Deployment
from inferhouse.endpoints.logs import current_endpoint
from inferhouse.engine.runtime import Runtime
from inferhouse.errors import OutOfMemory, Unavailable
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Trend:
    """Which way the load has pointed (1 up, -1 down, 0 steady) and since when (clock seconds)."""

    direction: int = 0
    since: float = 0.0


@dataclass(frozen=True)
class Bounds:
    floor: int  # max(1, minReplica)
    ceiling: int  # maxReplica, at least the floor
    threshold: float  # of the metric, per replica
    up_seconds: float  # how long the load stays above the threshold before adding replicas
    down_seconds: float  # how long it stays under before removing replicas


def plan(replicas: int, load: float, bounds: Bounds, trend: Trend, now: float) -> tuple[int, Trend]:
    """The replicas to run and the trend to remember, given ``replicas`` running, the metric's ``load``
    (per replica) and the ``trend`` remembered from the last look. Outside the bounds (changed by an
    update): back inside at once."""
    inside = min(max(replicas, bounds.floor), bounds.ceiling)
    if inside != replicas:
        return inside, Trend(0, now)
    wanted = math.ceil(replicas * load / bounds.threshold)
    if load > bounds.threshold:
        wanted = max(wanted, replicas + 1)
    wanted = min(max(wanted, bounds.floor), bounds.ceiling)
    direction = (wanted > replicas) - (wanted < replicas)
    if direction == 0:
        return replicas, Trend(0, now)
    if trend.direction != direction:
        trend = Trend(direction, now)
    window = bounds.up_seconds if direction > 0 else bounds.down_seconds
    if now - trend.since >= window:
        return wanted, Trend(0, now)
    return replicas, trend


class CpuMeter:
    """This process's CPU utilisation between two samples, in percent of the cores it may use."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cores = (
            len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        )
        self._last = (clock(), _cpu_seconds())

    def sample(self) -> float:
        now, used = self._clock(), _cpu_seconds()
        then, before = self._last
        self._last = (now, used)
        if now <= then:
            return 0.0
        return 100.0 * (used - before) / ((now - then) * self._cores)


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


class Autoscaler:
    """Remembers each endpoint's trend and target, and starts the scales :func:`plan` asks for."""

    def __init__(
        self,
        settings: Settings,
        metrics: Metrics,
        note: Callable[[str, str], object],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._note = note  # a line in the endpoint's logs
        self._clock = clock
        self._cpu = CpuMeter(clock)
        self._trends: dict[str, Trend] = {}
        self._targets: dict[str, int] = {}
        self._scaling: dict[str, asyncio.Task[None]] = {}

    def target(self, name: str, deployment: Deployment | None) -> int:
        """The replicas endpoint ``name`` is headed for: a scale's target while one runs, else what it
        runs (0 without a deployment)."""
        if deployment is None:
            return 0
        runtime = deployment.served.runtime()
        if runtime is not None and runtime.scales_itself:
            return runtime.target_replicas
        return self._targets.get(name, deployment.replicas)

    def started(self, name: str, replicas: int) -> None:
        """A new deployment of ``name`` serves with ``replicas``: its history starts over."""
        self._trends.pop(name, None)
        self._targets.pop(name, None)
        self._scaling.pop(name, None)  # a scale still running finishes on the deployment it started on
        self._metrics.endpoint_target_replicas.labels(name).set(replicas)

    def forget(self, name: str) -> None:
        """The endpoint's deployment went (unloaded or deleted)."""
        self.started(name, 0)

    def tick(self, records: Mapping[str, StoredEndpoint], deployments: Mapping[str, Deployment]) -> None:
        """One look at every running endpoint; starts the scales it decides on (call it on the loop)."""
        cpu = self._cpu.sample()
        now = self._clock()
        for name, deployment in deployments.items():
            record = records.get(name)
            runtime = deployment.served.runtime()
            if record is None or record.status.state not in SERVING_STATES or deployment.retired:
                continue
            if runtime is None or runtime.scales_itself or name in self._scaling:
                self._metrics.endpoint_target_replicas.labels(name).set(self.target(name, deployment))
                continue
            compute = record.config.compute
            health = runtime.health()
            if health.stopped:
                continue
            load = (
                cpu
                if compute.metric is ScalingMetric.HARDWARE_USAGE
                else health.queued / max(1, health.replicas)
            )
            bounds = Bounds(
                compute.replicas,
                compute.ceiling,
                compute.threshold,
                self._settings.scale_up_seconds,
                self._settings.scale_down_seconds,
            )
            wanted, self._trends[name] = plan(
                health.replicas, load, bounds, self._trends.get(name, Trend()), now
            )
            if wanted != health.replicas:
                self._start(name, deployment, runtime, health.replicas, wanted, load)
            self._metrics.endpoint_target_replicas.labels(name).set(self.target(name, deployment))

    def _start(
        self, name: str, deployment: Deployment, runtime: Runtime[Any], current: int, wanted: int, load: float
    ) -> None:
        if wanted > current and deployment.budget is not None:
            try:
                deployment.budget.reserve(deployment, deployment.copy_bytes * wanted, wanted)
            except OutOfMemory as refused:
                log.warning("endpoint %s stays at %d replica(s): %s", name, current, refused.message)
                self._note(name, f"scale to {wanted} replica(s) refused: {refused.message}")
                return
        self._targets[name] = wanted
        self._note(name, f"scaling from {current} to {wanted} replica(s) (load {load:.2f})")
        task = asyncio.create_task(self._scale(name, deployment, runtime, wanted), name=f"scale-{name}")
        self._scaling[name] = task

    async def _scale(self, name: str, deployment: Deployment, runtime: Runtime[Any], wanted: int) -> None:
        context = contextvars.copy_context()
        context.run(current_endpoint.set, name)  # what the new copies log while loading is the endpoint's
        try:
            await asyncio.get_running_loop().run_in_executor(None, context.run, runtime.scale, wanted)
        except Unavailable:
            pass  # stopped meanwhile (unloaded or replaced): nothing left to scale
        except Exception as error:  # a failed build leaves the copies it had serving
            log.exception("scaling endpoint %s to %d replica(s) failed", name, wanted)
            self._note(name, f"scaling to {wanted} replica(s) failed: {type(error).__name__}: {error}")
        finally:
            if self._scaling.get(name) is asyncio.current_task():
                del self._scaling[name]
                self._targets.pop(name, None)
                self._metrics.endpoint_replicas.labels(name).set(runtime.replicas)
        if deployment.budget is not None and not deployment.retired:
            # What the runtime holds (never above the reservation): lower after a shrink or a failed build.
            deployment.budget.reserve(deployment, deployment.copy_bytes * runtime.replicas, runtime.replicas)


async def autoscale_forever(interval: Callable[[], float], tick: Callable[[], object]) -> None:
    """Call ``tick`` every ``interval()`` seconds until cancelled; a failing pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval())
        try:
            tick()
        except Exception:  # the autoscaler must outlive a bug in one pass
            log.exception("autoscaling endpoints failed")
