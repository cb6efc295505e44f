"""An endpoint's replicas on Ray Serve: its compute settings in Ray's terms (imported only when
``INFERHOUSE_RUNTIME=ray``, so the extra ``inferhouse[ray]`` is needed only then).

- ``maxReplica`` above the floor gives the deployment an ``autoscaling_config``: between max(1,
  ``minReplica``) and ``maxReplica``, aiming at the endpoint's ``pendingRequests`` threshold of ongoing
  requests per replica, after ``INFERHOUSE_SCALE_UP_SECONDS``/``INFERHOUSE_SCALE_DOWN_SECONDS``. Ray counts
  the requests of every API server calling the deployment. A ``hardwareUsage`` endpoint scales on
  its replicas' CPU use instead, through the policy in :mod:`inferhouse.engine.ray_hardware`.
- Scaling to zero stays the idle reaper's, as in-process: it stops the application.
- An accelerator other than ``cpu`` asks Ray for one GPU per replica; each replica asks for
  ``INFERHOUSE_RAY_REPLICA_CPUS`` CPUs.
- A text-generation endpoint is one replica, as in-process (its generator batches decoding steps
  across requests), taking every request it is sent so its own limit answers 429.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from inferhouse.endpoints.config import EndpointConfig, ScalingMetric
from inferhouse.engine.generation.contract import GenerationLimits, TextGenerator
from inferhouse.engine.generation.loading import load_tokenizer
from inferhouse.engine.ray_cluster import application_name
from inferhouse.engine.ray_generation import RayTextGenerator
from inferhouse.engine.ray_runtime import RayAutoscaling, RayPlacement, RayRuntime, start_ray
from inferhouse.settings import Settings

M = TypeVar("M")

# Ray Serve's own default of ongoing requests per replica (a hardwareUsage endpoint's policy ignores it).
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
        cpu_percent=None if pending else compute.threshold,
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


def start_generation_on_ray(
    config: EndpointConfig, settings: Settings, build: Callable[[], TextGenerator], path: Path
) -> RayTextGenerator:
    """A generator made by ``build`` in one Serve replica, with its tokenizer here (blocking)."""
    runtime = start_ray(
        application_name(settings.ray_address, settings.port, config.name),
        build,
        1,
        max_queued=settings.max_queued_inputs,
        placement=placement(config, settings),
        max_ongoing=settings.max_queued_inputs,
    )
    try:
        task, model_id, limits = runtime.answers(_generator_facts)
        tokenizer = load_tokenizer(path, config.model.trust_remote_code)
    except BaseException:
        runtime.stop()
        raise
    return RayTextGenerator(runtime, tokenizer, task=task, model_id=model_id, limits=limits)


def _generator_facts(generator: TextGenerator) -> tuple[str, str, GenerationLimits]:
    return generator.task, generator.model_id, generator.limits
