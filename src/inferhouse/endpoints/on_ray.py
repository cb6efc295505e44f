"""An endpoint's replicas on Ray Serve: its compute settings in Ray's terms (imported only when
``INFERHOUSE_RUNTIME=ray``, so the extra ``inferhouse[ray]`` is needed only then).

- ``maxReplica`` above the floor gives the deployment an ``autoscaling_config``: between max(1,
  ``minReplica``) and ``maxReplica``, aiming at the endpoint's ``pendingRequests`` threshold of ongoing
  requests per replica, after ``INFERHOUSE_SCALE_UP_SECONDS``/``INFERHOUSE_SCALE_DOWN_SECONDS``. Ray counts
  the requests of every API server calling the deployment. Ray Serve has no CPU-based policy: a
  ``hardwareUsage`` endpoint scales on ongoing requests at Ray's default target.
- Scaling to zero stays the idle reaper's, as in-process: it stops the application.
- An accelerator other than ``cpu`` asks Ray for one GPU per replica; each replica asks for
  ``INFERHOUSE_RAY_REPLICA_CPUS`` CPUs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from inferhouse.endpoints.config import EndpointConfig, ScalingMetric
from inferhouse.engine.ray_cluster import application_name
from inferhouse.engine.ray_runtime import RayAutoscaling, RayPlacement, RayRuntime, start_ray
from inferhouse.settings import Settings

M = TypeVar("M")

# Ray Serve's own default of ongoing requests per replica, for a metric it cannot measure.
RAY_DEFAULT_TARGET = 2.0


def placement(config: EndpointConfig, settings: Settings) -> RayPlacement:
    gpus = 0.0 if config.compute.accelerator == "cpu" else 1.0
    return RayPlacement(num_cpus=settings.ray_replica_cpus, num_gpus=gpus)


def autoscaling(config: EndpointConfig, settings: Settings) -> RayAutoscaling | None:
    compute = config.compute
    if compute.ceiling <= compute.replicas:
        return None
    pending = compute.metric is ScalingMetric.PENDING_REQUESTS
    return RayAutoscaling(
        min_replicas=compute.replicas,
        max_replicas=compute.ceiling,
        target_ongoing_requests=compute.threshold if pending else RAY_DEFAULT_TARGET,
        upscale_delay_s=settings.scale_up_seconds,
        downscale_delay_s=settings.scale_down_seconds,
    )


def start_on_ray(
    config: EndpointConfig,
    settings: Settings,
    build: Callable[[], M],
    replicas: int,
    *,
    batching: dict[str, Any] | None = None,
) -> RayRuntime[M]:
    """``replicas`` copies made by ``build``, as a Serve application of this server (blocking)."""
    return start_ray(
        application_name(settings.ray_address, settings.port, config.name),
        build,
        replicas,
        max_queued=settings.max_queued_inputs,
        placement=placement(config, settings),
        autoscaling=autoscaling(config, settings),
        batching=batching,
    )
