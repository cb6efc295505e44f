"""Ray for the tests: a small local cluster in the test process, and a two-node cluster of separate
processes (``ray.cluster_utils.Cluster``) for servers to join. Both bind to 127.0.0.1 only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

# Tests run many short-lived replicas on two cores: logical CPUs are what Ray places by, not real ones.
LOGICAL_CPUS = 8
OBJECT_STORE_BYTES = 128 * 1024 * 1024


def ray_env() -> dict[str, str]:
    """What every Ray process of the tests runs with: no usage reports, no token prompt, loopback."""
    return {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}


@contextmanager
def local_ray() -> Iterator[None]:
    import cloudpickle
    import ray
    from ray import serve

    import tests.support.ray_sync
    import tests.support.runtime_model

    os.environ.update(ray_env())
    # The contract model and its actor are test code Ray workers cannot import: ship them by value.
    cloudpickle.register_pickle_by_value(tests.support.runtime_model)
    cloudpickle.register_pickle_by_value(tests.support.ray_sync)
    ray.init(
        num_cpus=LOGICAL_CPUS,
        object_store_memory=OBJECT_STORE_BYTES,
        include_dashboard=False,
        log_to_driver=False,
        _node_ip_address="127.0.0.1",
    )
    serve.start(proxy_location="Disabled")
    try:
        yield
    finally:
        serve.shutdown()
        ray.shutdown()
