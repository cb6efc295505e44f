"""Replicas as a Ray Serve deployment: the :class:`~inferhouse.engine.runtime.Runtime` for a cluster.

Each runtime is one Serve application of one deployment, whose replicas (what runs in them lives in
:mod:`inferhouse.engine.ray_replica`) Ray places on the cluster's nodes. The API server calls them through
a deployment handle, with no HTTP hop; a call is the same ``work(model)`` function as in-process.

Errors keep the runtime contract: a replica answers with an ``Outcome`` that carries its error, a replica
process that died is :class:`Unavailable` (send it again), a full queue (counted here, per API server) is
:class:`Overloaded`, and a stopped or scaled-to-zero runtime is :class:`Unavailable`. With
:class:`RayAutoscaling`, Ray Serve moves the replicas between its bounds on the ongoing requests of every
API server that calls them; :meth:`RayRuntime.scale` fixes the count.

``ray`` is imported only here, in :mod:`~inferhouse.engine.ray_replica` and in
:mod:`~inferhouse.engine.ray_cluster` (the extra ``inferhouse[ray]``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

import ray.exceptions
from ray import serve

from inferhouse.engine.backends.base import ModelFacts, TruncationDirection
from inferhouse.engine.batcher import BatchOutput
from inferhouse.engine.ray_hardware import POLICY
from inferhouse.engine.ray_replica import ModelReplica, Outcome, facts_of
from inferhouse.engine.roster import NO_REPLICAS, STOP_TIMEOUT_S
from inferhouse.engine.runtime import Call, RuntimeHealth
from inferhouse.engine.work_queue import UNLOADED
from inferhouse.errors import BackendFailure, InferhouseError, Overloaded, Unavailable

REPLICA_DIED = "The replica serving this request stopped before answering; send it again (another serves it)"

log = logging.getLogger(__name__)

M = TypeVar("M")
R = TypeVar("R")

DEPLOYMENT = "model"  # the one deployment of each application
# How long a cached count of running replicas is trusted (it is a call to the Serve controller).
STATUS_TTL_S = 1.0
# Lines a replica logged while loading are logged again here, where the endpoint's logs collect them.
replica_log = logging.getLogger("inferhouse.ray.replica")


@dataclass(frozen=True)
class RayPlacement:
    """The Ray resources one replica asks for; Ray places it on a node that has them."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0


@dataclass(frozen=True)
class RayAutoscaling:
    """Ray Serve's ``autoscaling_config`` for an endpoint's scaling settings."""

    min_replicas: int
    max_replicas: int
    target_ongoing_requests: float  # per replica: the endpoint's pendingRequests threshold
    upscale_delay_s: float
    downscale_delay_s: float
    cpu_percent: float | None = None  # hardwareUsage: scale on replicas' CPU use instead

    def config(self, initial: int) -> dict[str, Any]:
        config = asdict(self) | {"initial_replicas": initial}
        threshold = config.pop("cpu_percent")
        if threshold is not None:
            config["policy"] = {"policy_function": POLICY, "policy_kwargs": {"threshold": threshold}}
        return config


class RayRuntime(Generic[M]):
    """Replicas of one model in a Ray Serve application named ``app``, called through its handle.

    ``batching`` (the in-replica batcher's options) makes it the embedding runtime: :meth:`embed`
    merges requests in the replica, and ``batches`` is True.
    """

    def __init__(
        self,
        app: str,
        build: Callable[[], M],
        replicas: int,
        *,
        max_queued: int,
        placement: RayPlacement,
        autoscaling: RayAutoscaling | None = None,
        batching: dict[str, Any] | None = None,
        max_ongoing: int | None = None,
    ) -> None:
        self.app = app
        self.batches = batching is not None
        self.scales_itself = autoscaling is not None
        self._build = build
        self._max_queued = max_queued
        self._placement = placement
        self._autoscaling = autoscaling
        self._batching = batching
        self._max_ongoing = max_ongoing
        self._pending = 0  # calls (or, batching, inputs) sent from this process and not yet answered
        self._drained = threading.Condition()
        self._scaling = threading.Lock()
        self._stopped = False
        self._target = 0
        self._handle: Any = None
        self._status: tuple[float, tuple[int, int]] = (0.0, (0, 0))
        self._deploy(replicas, autoscaling)
        self._relay_load_log()

    @property
    def replicas(self) -> int:
        if self._target == 0 or not self.scales_itself:
            return self._target
        return self._counts()[0]

    @property
    def target_replicas(self) -> int:
        """Serve's replicas running or starting (those stopping are on their way out)."""
        if self._target == 0 or not self.scales_itself:
            return self._target
        running, starting = self._counts()
        return running + starting

    @property
    def queued_inputs(self) -> int:
        return self._pending

    async def call(self, work: Call[M, R]) -> R:
        handle = self.admit(1)
        try:
            outcome: Outcome = await handle.run.remote(work)
        except Exception as error:  # the replica died, or the application went away meanwhile
            raise self.lost(error) from error
        finally:
            self.release(1)
        result: R = outcome.unwrap()
        return result

    async def embed(
        self, texts: Sequence[str], direction: TruncationDirection = "right", allow_truncation: bool = True
    ) -> BatchOutput:
        size = len(texts)
        handle = self.admit(size)
        try:
            outcome: Outcome = await handle.embed.remote(list(texts), direction, allow_truncation)
        except Exception as error:
            raise self.lost(error) from error
        finally:
            self.release(size)
        output: BatchOutput = outcome.unwrap()
        return output

    def facts(self) -> ModelFacts:
        """What callers need to know of an embedding model (dimension, prompts, ...), asked of a replica."""
        outcome: Outcome = self._handle.run.remote(facts_of).result()
        facts: ModelFacts = outcome.unwrap()
        return facts

    def answers(self, question: Callable[[M], R]) -> R:
        """Ask one replica ``question`` (blocking); for what a loader reads once, at start."""
        outcome: Outcome = self._handle.run.remote(question).result()
        result: R = outcome.unwrap()
        return result

    def scale(self, n: int) -> None:
        if n < 0:
            raise ValueError(f"replicas must be at least 0, got {n}")
        with self._scaling:
            if self._stopped:
                raise Unavailable(UNLOADED)
            if n == 0:
                self._target = 0  # refused from now on; the work taken before is answered first
                self._wait_drained()
                serve.delete(self.app)
                self._handle = None
                return
            cold = self._handle is None
            self._deploy(n, None)
            if cold:
                self._relay_load_log()

    def health(self) -> RuntimeHealth:
        return RuntimeHealth(self.replicas, self._pending, self._stopped)

    def stop(self) -> None:
        with self._scaling:
            if self._stopped:
                return
            self._stopped = True
            self._target = 0
            self._wait_drained()
            try:
                serve.delete(self.app)
            except Exception:  # the cluster went first: nothing of ours is left on it
                log.warning("could not delete Ray Serve application %s", self.app, exc_info=True)
            self._handle = None

    def close(self) -> None:
        self.stop()

    def _deploy(self, replicas: int, autoscaling: RayAutoscaling | None) -> None:
        options: dict[str, Any] = {
            "name": DEPLOYMENT,
            "ray_actor_options": {"num_cpus": self._placement.num_cpus, "num_gpus": self._placement.num_gpus},
            # A replica that runs calls one at a time takes one; a batching one takes what it can merge.
            # (A generator's replica takes all it is sent: its own limit answers 429, as in-process.)
            "max_ongoing_requests": self._max_ongoing or (max(1, self._max_queued) if self.batches else 1),
            "max_queued_requests": -1,  # the bound is ours (Overloaded), counted before sending
            # A replica removed by a scale has no new work routed to it: look for its end often.
            "graceful_shutdown_wait_loop_s": 0.2,
            "graceful_shutdown_timeout_s": STOP_TIMEOUT_S,
        }
        if autoscaling is not None:
            options["autoscaling_config"] = autoscaling.config(replicas)
        else:
            options["num_replicas"] = replicas
        deployment = serve.deployment(ModelReplica).options(**options)  # type: ignore[attr-defined]
        # One code version for the runtime's life: Serve then changes only the replica count on a scale
        # (keeping the copies it has) where a fresh version would replace every replica. ray==2.60.0
        # offers no public way to say so; the contract cases catch a change.
        deployment._version = self.app
        self._handle = serve.run(
            deployment.bind(self._build, self._batching, self._placement.num_cpus),
            name=self.app,
            route_prefix=None,
        )
        self._target = replicas
        self._status = (0.0, (0, 0))

    def _relay_load_log(self) -> None:
        """Log here what one replica logged while loading; it runs in the endpoint's load, so the
        endpoint's logs file these lines as they file an in-process load's."""
        if self._handle is None or self._target == 0:
            return
        try:
            lines: list[str] = self._handle.load_log.remote().result()
        except Exception:  # the replica went meanwhile: its lines are lost, not the endpoint
            log.warning("%s: could not read a replica's load log", self.app, exc_info=True)
            return
        for line in lines:
            replica_log.info("%s", line)

    def admit(self, size: int) -> Any:
        """Count ``size`` inputs as sent and return the handle to send them with; every admit is
        matched by one :meth:`release` once they are answered."""
        with self._drained:
            if self._stopped:
                raise Unavailable(UNLOADED)
            if self._target == 0 or self._handle is None:
                raise Unavailable(NO_REPLICAS)
            # As in-process: the bound waits, and each replica holds one call beyond it.
            ceiling = self._autoscaling.max_replicas if self._autoscaling else self._target
            room = self._max_queued + (0 if self.batches else ceiling)
            if self._pending + size > room:
                raise Overloaded(
                    f"Too many requests are waiting for this model ({self._pending}); retry shortly"
                )
            self._pending += size
            return self._handle

    def release(self, size: int) -> None:
        with self._drained:
            self._pending -= size
            self._drained.notify_all()

    def _wait_drained(self) -> None:
        deadline = time.monotonic() + STOP_TIMEOUT_S
        with self._drained:
            while self._pending > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    log.warning("%s: calls still running after %.0f s", self.app, STOP_TIMEOUT_S)
                    return
                self._drained.wait(left)

    def _counts(self) -> tuple[int, int]:
        """Serve's replicas of this application (running, starting), asked at most every STATUS_TTL_S."""
        checked, counts = self._status
        if time.monotonic() - checked < STATUS_TTL_S:
            return counts
        try:
            app = serve.status().applications[self.app]
            states: dict[Any, int] = app.deployments[DEPLOYMENT].replica_states
            counts = (int(states.get("RUNNING", 0)), int(states.get("STARTING", 0)))
        except Exception:  # the controller is busy or the app is going: keep the last counts
            return counts
        self._status = (time.monotonic(), counts)
        return counts

    def lost(self, error: Exception) -> InferhouseError:
        """The error a caller gets for a call that Ray itself failed (not the model)."""
        if self._stopped or self._target == 0:
            return Unavailable(UNLOADED)
        log.warning("a call to %s failed in Ray: %s", self.app, error)
        if isinstance(error, ray.exceptions.RayActorError):  # its process died: Serve starts another
            return Unavailable(REPLICA_DIED)
        return BackendFailure(f"The replica serving this request failed: {type(error).__name__}")


def start_ray(
    app: str,
    build: Callable[[], M],
    replicas: int,
    *,
    max_queued: int,
    placement: RayPlacement,
    autoscaling: RayAutoscaling | None = None,
    batching: dict[str, Any] | None = None,
    max_ongoing: int | None = None,
) -> RayRuntime[M]:
    """A :class:`RayRuntime` whose ``replicas`` are loaded and ready (blocking)."""
    return RayRuntime(
        app,
        build,
        replicas,
        max_queued=max_queued,
        placement=placement,
        autoscaling=autoscaling,
        batching=batching,
        max_ongoing=max_ongoing,
    )
