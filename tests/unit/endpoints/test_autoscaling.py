"""The autoscaler driven by the endpoint manager's own loop, on replicas of a slow model run by real threads:
a burst grows an endpoint to maxReplica, quiet shrinks it to its floor, and then it scales to zero."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import ComputeConfig, EndpointConfig, ModelConfig, ScalingMetric, State
from inferhouse.endpoints.deployment import Deployment
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.served import Pipeline
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.engine.replicas import start_threads
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from inferhouse.storage import Database

CALL_SECONDS = 0.2
COPY_BYTES = 100
# Generous against two busy cores: the windows below are a fraction of a second.
DEADLINE_S = 10.0


class Slow:
    task = "custom"

    def __call__(self, body: Any) -> Any:
        time.sleep(CALL_SECONDS)
        return {"inputs": body["inputs"]}


class Loader:
    """Loads a Pipeline of real replica threads, each copy of the slow model counted in the budget."""

    def __init__(self) -> None:
        self.built = 0

    def build(self) -> Slow:
        self.built += 1
        return Slow()

    def __call__(
        self, config: EndpointConfig, settings: Settings, metrics: Metrics, budget: MemoryBudget
    ) -> Deployment:
        copies = config.compute.replicas
        runner = start_threads(self.build, copies, max_queued=256, name=config.name)
        deployment = Deployment(
            config.with_task("custom"),
            Path("."),
            Pipeline(runner, ranks=False),
            budget=budget,
            copy_bytes=COPY_BYTES,
        )
        budget.reserve(deployment, COPY_BYTES * copies, copies)
        return deployment


class Clock:
    """Real time, which the test can move forward to reach a scaleToZeroTimeout of minutes."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


def _manager(db: Database, clock: Clock, **settings: Any) -> EndpointManager:
    fast = Settings(
        data_dir=db.path.parent,
        idle_check_seconds=3600,
        autoscale_interval_seconds=0.05,
        scale_up_seconds=0.1,
        scale_down_seconds=0.3,
        **settings,
    )
    return EndpointManager(fast, SqliteEndpointStore(db), Metrics(), loader=Loader(), clock=clock)


def _config(name: str) -> EndpointConfig:
    compute = ComputeConfig(
        min_replica=0,
        max_replica=3,
        scale_to_zero_timeout=1,
        scaling_metric=ScalingMetric.PENDING_REQUESTS,
        scaling_threshold=1.0,
    )
    return EndpointConfig(name, ModelConfig("org/slow", task="custom"), compute)


async def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def _call(manager: EndpointManager, name: str) -> Any:
    async with manager.serving(name, wait=True) as deployment:
        return await deployment.predict({"inputs": "x"})


def _replicas(manager: EndpointManager, name: str) -> tuple[float | None, float | None]:
    registry = manager._metrics.registry
    labels = {"endpoint": name}
    return (
        registry.get_sample_value("inferhouse_endpoint_replicas", labels),
        registry.get_sample_value("inferhouse_endpoint_target_replicas", labels),
    )


async def test_a_burst_scales_up_to_max_then_quiet_scales_down_to_the_floor_then_to_zero(
    tmp_path: Path,
) -> None:
    clock = Clock()
    manager = _manager(Database.in_data_dir(tmp_path), clock)
    await manager.start()
    try:
        await manager.create(_config("burst"))
        await manager.wait_until_settled()
        assert (manager.ready_replicas("burst"), manager.target_replicas("burst")) == (1, 1)

        burst = [asyncio.create_task(_call(manager, "burst")) for _ in range(20)]
        await _until(lambda: manager.target_replicas("burst") == 3, "the target is maxReplica")
        await _until(lambda: manager.ready_replicas("burst") == 3, "three replicas serve")
        assert _replicas(manager, "burst") == (3.0, 3.0)
        assert all(reply == {"inputs": "x"} for reply in await asyncio.gather(*burst))

        await _until(lambda: manager.ready_replicas("burst") == 1, "quiet brings it back to one")
        assert manager.target_replicas("burst") == 1
        await _until(lambda: _replicas(manager, "burst") == (1.0, 1.0), "the gauges say one")
        assert manager.get("burst").status.state is State.RUNNING
        log = "\n".join(manager.logs.tail("burst", 50))
        assert "scaling from 1 to 3 replica(s)" in log
        assert "scaling from 3 to 1 replica(s)" in log

        clock.offset += 3600  # past scaleToZeroTimeout: the idle reaper's turn
        assert manager.reap_idle() == ["burst"]
        assert manager.get("burst").status.state is State.SCALED_TO_ZERO
        assert (manager.ready_replicas("burst"), manager.target_replicas("burst")) == (0, 0)
    finally:
        await manager.close()


async def test_a_scale_up_the_memory_budget_refuses_is_logged_and_the_endpoint_keeps_serving(
    tmp_path: Path,
) -> None:
    # Room for two copies, not three: the autoscaler asks for three and is refused.
    manager = _manager(Database.in_data_dir(tmp_path), Clock(), endpoint_memory_bytes=2 * COPY_BYTES)
    await manager.start()
    try:
        await manager.create(_config("tight"))
        await manager.wait_until_settled()
        burst = [asyncio.create_task(_call(manager, "tight")) for _ in range(8)]
        refused = "scale to 3 replica(s) refused: Out of memory"
        await _until(lambda: any(refused in line for line in manager.logs.tail("tight", 50)), "refused")
        assert manager.ready_replicas("tight") == 1
        assert all(reply == {"inputs": "x"} for reply in await asyncio.gather(*burst))
        assert manager.get("tight").status.state is State.RUNNING
    finally:
        await manager.close()


async def test_the_generation_family_keeps_one_copy_and_reports_it(tmp_path: Path) -> None:
    """A deployment without a runtime (the generation family's) is left alone by the autoscaler."""
    manager = _manager(Database.in_data_dir(tmp_path), Clock())
    await manager.start()
    try:
        await manager.create(_config("single"))
        await manager.wait_until_settled()
        deployment = manager.deployment("single")
        assert deployment is not None
        deployment.served.runtime = lambda: None  # type: ignore[method-assign]
        burst = [asyncio.create_task(_call(manager, "single")) for _ in range(4)]
        await asyncio.gather(*burst)
        assert (manager.ready_replicas("single"), manager.target_replicas("single")) == (1, 1)
    finally:
        await manager.close()
