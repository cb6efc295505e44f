"""The ray runtime as contract-case starters: each run a fresh Serve application on the session's local
cluster (imported only when a Ray case runs)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any, TypeVar

M = TypeVar("M")

_apps = itertools.count()


def start_ray_calls(build: Callable[[], M], replicas: int, *, max_queued: int, name: str = "model") -> Any:
    from inferhouse.engine.ray_runtime import RayPlacement, start_ray

    app = f"contract-{name}-{next(_apps)}"
    return start_ray(app, build, replicas, max_queued=max_queued, placement=RayPlacement(num_cpus=0))


def start_ray_batching(build: Callable[[], M], replicas: int, *, max_queued: int, name: str = "model") -> Any:
    from inferhouse.engine.ray_runtime import RayPlacement, start_ray

    app = f"contract-{name}-{next(_apps)}"
    batching = {"max_queued_inputs": max_queued, "name": name}
    return start_ray(
        app, build, replicas, max_queued=max_queued, placement=RayPlacement(num_cpus=0), batching=batching
    )
