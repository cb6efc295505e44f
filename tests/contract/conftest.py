"""What the contract cases run against. A new store backend adds one entry to ``STORE_BACKENDS`` (what
gives its opener, from the session fixtures it needs) and every case in test_stores.py runs on it too;
a new implementation of :class:`inferhouse.engine.runtime.Runtime` adds its starter to
``RUNTIME_STARTERS`` and every case in test_runtime.py runs on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from inferhouse.engine.batcher import start_batching
from inferhouse.engine.replicas import start_threads
from inferhouse.engine.runtime import Runtime, RuntimeStarter
from tests.contract.ray_starters import start_ray_batching, start_ray_calls
from tests.contract.store_backends import StoreOpener, Stores, open_postgres, open_sqlite
from tests.support.postgres import PostgresServer
from tests.support.runtime_model import ContractModel, Copies
from tests.support.server import RunningServer, start_server

# Each backend's opener, given the session fixtures it needs (a server, say) by name.
STORE_BACKENDS: dict[str, Callable[[pytest.FixtureRequest], StoreOpener]] = {
    "sqlite": lambda request: open_sqlite,
    "postgres": lambda request: partial(open_postgres, request.getfixturevalue("postgres_server")),
}
RUNTIME_STARTERS: dict[str, RuntimeStarter[Any]] = {
    "threads": start_threads,
    "batching": start_batching,
    "ray": start_ray_calls,
    "ray-batching": start_ray_batching,
}
# Runtimes whose replicas run in other processes: their copies share state through Ray.
_ON_RAY = frozenset({"ray", "ray-batching"})
# Runtimes that route each request to the less busy of two sampled replicas, each taking many requests
# at once: simultaneous calls may share one replica (whose batcher runs them in turn), so the cases
# that need every replica to take one of them do not apply.
_ROUTED_BY_SAMPLING = frozenset({"ray-batching"})


@pytest.fixture(params=sorted(STORE_BACKENDS))
def open_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Stores]]:
    """Opens the backend's stores on this test's database: call it again to reopen the same data."""
    opener = STORE_BACKENDS[request.param](request)
    opened: list[Stores] = []

    def open_again() -> Stores:
        opened.append(opener(tmp_path / "state"))
        return opened[-1]

    yield open_again
    for stores in opened:
        stores.close()


@pytest.fixture
def stores(open_stores: Callable[[], Stores]) -> Stores:
    return open_stores()


StartRuntime = Callable[..., Runtime[ContractModel]]


@pytest.fixture(params=sorted(RUNTIME_STARTERS))
def runtime_kind(request: pytest.FixtureRequest) -> str:
    if request.param in _ON_RAY:
        request.getfixturevalue("ray_local")
    return str(request.param)


@pytest.fixture
def copies(runtime_kind: str) -> Copies:
    if runtime_kind in _ON_RAY:
        from tests.support.ray_sync import RaySync

        return Copies(RaySync())
    return Copies()


@pytest.fixture
def start_runtime(runtime_kind: str, copies: Copies) -> Iterator[StartRuntime]:
    """``start_runtime(build, replicas, max_queued=64)`` with each runtime in turn; stopped afterwards."""
    started: list[Runtime[ContractModel]] = []
    starter = RUNTIME_STARTERS[runtime_kind]

    def start(
        build: Callable[[], ContractModel], replicas: int, max_queued: int = 64
    ) -> Runtime[ContractModel]:
        runtime: Runtime[ContractModel] = starter(build, replicas, max_queued=max_queued, name=runtime_kind)
        started.append(runtime)
        return runtime

    yield start
    copies.open_gate()
    for runtime in started:
        runtime.stop()


# Vector backends: the server settings that select each one (a server per backend for the module).
# Approximate search starts at 1,000 vectors here, so the recall case exercises it.
def _pgvector_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    postgres: PostgresServer = request.getfixturevalue("postgres_server")
    url = postgres.database_for(f"vectors-{request.node.nodeid}")
    return {"INFERHOUSE_VECTOR_STORE": "pgvector", "INFERHOUSE_DATABASE_URL": url}


# Each backend's server settings, given the session fixtures it needs. Approximate search starts at
# 1,000 vectors here, so the recall case exercises it.
VECTOR_BACKENDS: dict[str, Callable[[pytest.FixtureRequest], dict[str, str]]] = {
    "embedded": lambda request: {},
    "pgvector": _pgvector_settings,
}


@pytest.fixture(scope="module", params=sorted(VECTOR_BACKENDS))
def vector_backend(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def vector_server(
    vector_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A server with no endpoints, its indexes on ``vector_backend``."""
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_ANN_MIN_VECTORS": "1000",
        **VECTOR_BACKENDS[vector_backend](request),
    }
    server = start_server(tmp_path_factory.mktemp(f"vectors-{vector_backend}"), env=env)
    yield server
    server.stop()


@pytest.fixture
def start_spreading_runtime(runtime_kind: str, start_runtime: StartRuntime) -> StartRuntime:
    """``start_runtime`` for the runtimes whose free replicas each take one of simultaneous calls."""
    if runtime_kind in _ROUTED_BY_SAMPLING:
        pytest.skip("this runtime may route simultaneous calls to one replica")
    return start_runtime
