"""The endpoint manager's lifecycle, driven in-process with a loader whose timing the test controls."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import ComputeConfig, EndpointConfig, ModelConfig, State
from inferhouse.endpoints.deployment import Deployment, load_deployment
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.served import Pipeline
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.engine.replicas import ReplicaRunner
from inferhouse.errors import EndpointPaused, ModelLoading, ModelNotFound, OutOfMemory
from inferhouse.metrics import Metrics
from inferhouse.settings import BUNDLED_MODEL_ID, Settings
from inferhouse.storage import Database


class Echo:
    """A task model that answers with its generation, so a test can tell deployments apart."""

    task = "custom"

    def __init__(self, generation: int) -> None:
        self.generation = generation

    def __call__(self, body: Any) -> Any:
        return {"generation": self.generation, "inputs": body["inputs"]}


class Loader:
    """Loads instantly unless ``gate`` is cleared; fails for repositories named in ``failing``."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.failing: set[str] = set()
        self.loads = 0
        self.closed: list[Deployment] = []

    def __call__(
        self, config: EndpointConfig, settings: Settings, metrics: Metrics, budget: MemoryBudget
    ) -> Deployment:
        self.gate.wait(10)
        if config.model.repository in self.failing:
            raise ModelNotFound(f"Model {config.model.repository} not found")
        self.loads += 1
        runner = ReplicaRunner([Echo(self.loads)], max_queued=16, name=config.name)
        deployment = Deployment(
            config.with_task(config.model.task or "custom"), Path("."), Pipeline(runner, ranks=False)
        )
        original_close = deployment.close

        def close() -> None:
            self.closed.append(deployment)
            original_close()

        deployment.close = close  # type: ignore[method-assign]
        return deployment


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _config(name: str, repository: str = "org/model", **compute: Any) -> EndpointConfig:
    return EndpointConfig(name, ModelConfig(repository, task="custom"), ComputeConfig(**compute))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database.in_data_dir(tmp_path)


def _manager(db: Database, loader: Loader, clock: Clock | None = None) -> EndpointManager:
    settings = Settings(data_dir=db.path.parent, idle_check_seconds=3600)
    return EndpointManager(
        settings, SqliteEndpointStore(db), Metrics(), loader=loader, clock=clock or Clock()
    )


async def _call(manager: EndpointManager, name: str, *, wait: bool = True) -> Any:
    async with manager.serving(name, wait=wait) as deployment:
        return await deployment.predict({"inputs": "x"})


async def test_create_loads_in_the_background_then_runs(db: Database) -> None:
    loader = Loader()
    loader.gate.clear()
    manager = _manager(db, loader)
    await manager.start()
    await manager.create(_config("one"))
    await asyncio.sleep(0.05)
    assert manager.get("one").status.state is State.INITIALIZING
    with pytest.raises(ModelLoading) as loading:
        await _call(manager, "one", wait=False)
    assert loading.value.estimated_time > 0
    loader.gate.set()
    assert (await _call(manager, "one"))["generation"] == 1
    assert manager.get("one").status.state is State.RUNNING
    await manager.close()


async def test_states_come_back_after_a_restart(db: Database) -> None:
    loader = Loader()
    first = _manager(db, loader)
    await first.start()
    for name in ("runs", "paused", "zero"):
        await first.create(_config(name))
    await first.wait_until_settled()
    await first.pause("paused")
    await first.scale_to_zero("zero")
    await first.close()

    again = _manager(db, Loader())
    await again.start()
    await again.wait_until_settled()
    assert again.get("runs").status.state is State.RUNNING
    assert again.get("paused").status.state is State.PAUSED
    assert again.get("zero").status.state is State.SCALED_TO_ZERO
    assert again.deployment("paused") is None
    assert (await _call(again, "runs"))["inputs"] == "x"
    await again.close()


async def test_idle_endpoints_with_min_replica_zero_scale_to_zero(db: Database) -> None:
    clock = Clock()
    manager = _manager(db, Loader(), clock)
    await manager.start()
    await manager.create(_config("idle", min_replica=0, scale_to_zero_timeout=2))
    await manager.create(_config("kept", min_replica=1, scale_to_zero_timeout=2))
    await manager.wait_until_settled()
    clock.now += 119
    assert manager.reap_idle() == []
    clock.now += 2
    assert manager.reap_idle() == ["idle"]
    assert manager.get("idle").status.state is State.SCALED_TO_ZERO
    assert manager.get("kept").status.state is State.RUNNING
    assert "scaled to zero after 2 minute(s)" in "\n".join(manager.logs.tail("idle", 5))
    # The next request wakes it, and waits when asked to.
    assert (await _call(manager, "idle"))["inputs"] == "x"
    assert manager.get("idle").status.state is State.RUNNING
    await manager.close()


async def test_an_endpoint_busy_with_a_request_is_not_scaled_to_zero(db: Database) -> None:
    clock = Clock()
    manager = _manager(db, Loader(), clock)
    await manager.start()
    await manager.create(_config("busy", min_replica=0, scale_to_zero_timeout=1))
    await manager.wait_until_settled()
    async with manager.serving("busy"):
        clock.now += 3600
        assert manager.reap_idle() == []
    clock.now += 3600
    assert manager.reap_idle() == ["busy"]
    await manager.close()


async def test_update_swaps_deployments_without_dropping_a_request_in_flight(db: Database) -> None:
    loader = Loader()
    manager = _manager(db, loader)
    await manager.start()
    await manager.create(_config("swap"))
    await manager.wait_until_settled()
    async with manager.serving("swap") as old:
        loader.gate.clear()
        await manager.update("swap", _config("swap", max_replica=2))
        assert manager.get("swap").status.state is State.UPDATING
        assert (await _call(manager, "swap"))["generation"] == 1  # the old one serves meanwhile
        loader.gate.set()
        await manager.wait_until_settled()
        assert manager.deployment("swap") is not old
        assert old not in loader.closed  # still held by this request
        assert (await old.predict({"inputs": "late"}))["generation"] == 1
    for _ in range(100):
        if old in loader.closed:
            break
        await asyncio.sleep(0.01)
    assert old in loader.closed
    assert (await _call(manager, "swap"))["generation"] == 2
    assert manager.get("swap").status.state is State.RUNNING
    await manager.close()


async def test_a_failed_update_keeps_the_old_model_serving(db: Database) -> None:
    loader = Loader()
    loader.failing.add("org/broken")
    manager = _manager(db, loader)
    await manager.start()
    await manager.create(_config("keep"))
    await manager.wait_until_settled()
    await manager.update("keep", _config("keep", repository="org/broken"))
    await manager.wait_until_settled()
    status = manager.get("keep").status
    assert status.state is State.UPDATE_FAILED
    assert status.message == "Model org/broken not found"
    assert (await _call(manager, "keep"))["generation"] == 1


async def test_a_failing_model_lands_in_failed_and_pause_cancels_a_load(db: Database) -> None:
    loader = Loader()
    loader.failing.add("org/broken")
    manager = _manager(db, loader)
    await manager.start()
    await manager.create(_config("broken", repository="org/broken"))
    await manager.wait_until_settled()
    assert manager.get("broken").status.state is State.FAILED
    loader.gate.clear()
    await manager.create(_config("slow"))
    await manager.pause("slow")
    loader.gate.set()
    await asyncio.sleep(0.1)
    assert manager.get("slow").status.state is State.PAUSED
    with pytest.raises(EndpointPaused):
        await _call(manager, "slow")
    await manager.close()


def test_memory_budget_refuses_what_does_not_fit(tmp_path: Path) -> None:
    budget = MemoryBudget(limit=1000)
    first, second = object(), object()
    budget.reserve(first, 600, 1)
    with pytest.raises(OutOfMemory) as refused:
        budget.reserve(second, 600, 2)
    assert "2 replica(s)" in refused.value.message
    budget.release(first)
    budget.reserve(second, 600, 2)


def test_loading_over_the_memory_budget_fails_before_loading(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, endpoint_memory_bytes=10_000_000)
    config = EndpointConfig("big", ModelConfig(BUNDLED_MODEL_ID, task="sentence-embeddings"))
    with pytest.raises(OutOfMemory) as refused:
        load_deployment(config, settings, Metrics(), MemoryBudget(settings.endpoint_memory_bytes))
    assert "INFERHOUSE_ENDPOINT_MEMORY_BYTES" in refused.value.message


def test_an_unknown_accelerator_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    config = EndpointConfig("tpu", ModelConfig(BUNDLED_MODEL_ID), ComputeConfig(accelerator="tpu"))
    with pytest.raises(Exception, match="accelerator must be one of cpu, gpu"):
        load_deployment(config, settings, Metrics(), MemoryBudget(None))


def test_a_revision_missing_from_the_cache_is_a_clear_failure(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    config = EndpointConfig("rev", ModelConfig(BUNDLED_MODEL_ID, revision="v9-does-not-exist"))
    with pytest.raises(ModelNotFound, match="at revision v9-does-not-exist"):
        load_deployment(config, settings, Metrics(), MemoryBudget(None))


def test_a_hub_model_resolves_from_the_cache_at_its_revision(
    tmp_path: Path, tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    from tests.support.models import install_in_hub_cache

    snapshot = install_in_hub_cache(tiny_model_dir, tmp_path / "hub", "org/tiny")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    settings = Settings(data_dir=tmp_path)
    for revision in (None, "main", snapshot.name):
        config = EndpointConfig("hub", ModelConfig("org/tiny", revision=revision, task="sentence-embeddings"))
        deployment = load_deployment(config, settings, Metrics(), MemoryBudget(None))
        assert deployment.path == snapshot
        deployment.close()
