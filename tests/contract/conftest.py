"""The runtimes the runtime contract cases run against (``test_runtime.py``). A new implementation of
:class:`inferhouse.engine.runtime.Runtime` adds its starter to ``RUNTIME_STARTERS``; every case then runs
on it too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from inferhouse.engine.batcher import start_batching
from inferhouse.engine.replicas import start_threads
from inferhouse.engine.runtime import Runtime, RuntimeStarter
from tests.support.runtime_model import ContractModel, Copies

RUNTIME_STARTERS: dict[str, RuntimeStarter[Any]] = {
    "threads": start_threads,
    "batching": start_batching,
}

StartRuntime = Callable[..., Runtime[ContractModel]]


@pytest.fixture
def copies() -> Copies:
    return Copies()


@pytest.fixture(params=sorted(RUNTIME_STARTERS))
def start_runtime(request: pytest.FixtureRequest, copies: Copies) -> Iterator[StartRuntime]:
    """``start_runtime(build, replicas, max_queued=64)`` with each runtime in turn; stopped afterwards."""
    started: list[Runtime[ContractModel]] = []
    starter = RUNTIME_STARTERS[request.param]

    def start(
        build: Callable[[], ContractModel], replicas: int, max_queued: int = 64
    ) -> Runtime[ContractModel]:
        runtime: Runtime[ContractModel] = starter(build, replicas, max_queued=max_queued, name=request.param)
        started.append(runtime)
        return runtime

    yield start
    copies.gate.set()
    for runtime in started:
        runtime.stop()
