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
        # A cluster of its own, even where another runs on this machine (a two-node test's, say).
        address="local",
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


def cluster_env() -> dict[str, str]:
    """``ray_env`` plus what keeps a multi-node cluster on loopback: without it Ray swaps 127.0.0.1 for
    the host's interface address when nodes register."""
    return {**ray_env(), "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@contextmanager
def two_node_cluster(head_cpus: int = 2, worker_cpus: int = 3) -> Iterator[str]:
    """A head and a worker node, each its own set of processes (``ray.cluster_utils.Cluster``), both on
    127.0.0.1; yields the head's GCS address for servers to join. This process does not connect."""
    from ray.cluster_utils import Cluster

    saved = {key: os.environ.get(key) for key in cluster_env()}
    os.environ.update(cluster_env())  # the node processes inherit it
    node = {"object_store_memory": OBJECT_STORE_BYTES, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(
        initialize_head=True,
        connect=False,
        head_node_args={**node, "num_cpus": head_cpus, "include_dashboard": False},
    )
    try:
        cluster.add_node(**node, num_cpus=worker_cpus)
        cluster.wait_for_nodes()
        yield cluster.address
    finally:
        cluster.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
