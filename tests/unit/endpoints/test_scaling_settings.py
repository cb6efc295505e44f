"""Scaling settings in huggingface_hub's wire shape (``scaling.measure``), checked and round-tripped, and
``X-Scale-Up-Timeout``: how long a call to an endpoint scaled to zero waits for it."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from inferhouse.api.core.headers import scale_up_timeout
from inferhouse.api.core.validation import parse_as
from inferhouse.api.operations.endpoints_admin import EndpointBody
from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import (
    ComputeConfig,
    EndpointConfig,
    ModelConfig,
    ScalingMetric,
    config_from_json,
    config_to_json,
)
from inferhouse.endpoints.deployment import Deployment
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.served import Pipeline
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.engine.replicas import ReplicaRunner
from inferhouse.errors import ModelLoading, ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from inferhouse.storage import Database


def _body(**scaling: Any) -> dict[str, Any]:
    return {"name": "scaled", "model": {"repository": "org/model"}, "compute": {"scaling": scaling}}


def _config(**scaling: Any) -> EndpointConfig:
    return parse_as(EndpointBody, _body(**scaling)).to_config(max_replicas=8)


def test_the_measure_huggingface_hub_sends_is_stored_and_sent_back_as_it_came() -> None:
    config = _config(minReplica=0, maxReplica=2, measure={"hardwareUsage": 70.0}, scaleToZeroTimeout=5)
    compute = config.compute
    assert (compute.metric, compute.threshold, compute.replicas, compute.ceiling) == (
        ScalingMetric.HARDWARE_USAGE,
        70.0,
        1,
        2,
    )
    scaling = config_to_json(config)["compute"]["scaling"]
    assert scaling == {
        "minReplica": 0,
        "maxReplica": 2,
        "scaleToZeroTimeout": 5,
        "measure": {"hardwareUsage": 70.0},
    }
    assert config_from_json(config_to_json(config)) == config


def test_without_a_measure_it_scales_on_pending_requests_at_the_default_threshold() -> None:
    compute = _config(minReplica=2, maxReplica=4).compute
    assert (compute.metric, compute.threshold, compute.replicas) == (ScalingMetric.PENDING_REQUESTS, 1.5, 2)
    assert config_to_json(EndpointConfig("e", ModelConfig("m")))["compute"]["scaling"]["measure"] is None
    # A metric named without a threshold (huggingface_hub sends null) takes the metric's default.
    assert _config(measure={"pendingRequests": None}).compute.threshold == 1.5


@pytest.mark.parametrize(
    ("scaling", "fragment"),
    [
        ({"measure": {"gpuTemperature": 1}}, "must be one of pendingRequests, hardwareUsage"),
        ({"measure": {"pendingRequests": 0}}, "above 0"),
        ({"measure": {"pendingRequests": -2}}, "above 0"),
        ({"measure": {"hardwareUsage": 150}}, "at most 100"),
        ({"measure": {"pendingRequests": 1, "hardwareUsage": 80}}, "one metric"),
        ({"minReplica": 3, "maxReplica": 2}, "minReplica (3) cannot be above maxReplica (2)"),
    ],
)
def test_bad_scaling_settings_are_refused_saying_what_to_change(
    scaling: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _config(**scaling)
    assert fragment in refused.value.message
    assert refused.value.status_code == 422


def test_only_a_change_of_bounds_reloads_the_model() -> None:
    base = EndpointConfig("e", ModelConfig("m"), ComputeConfig(min_replica=1, max_replica=2))
    metric = ComputeConfig(
        min_replica=1, max_replica=2, scaling_metric=ScalingMetric.HARDWARE_USAGE, scaling_threshold=50
    )
    assert not EndpointConfig("e", ModelConfig("m"), metric).needs_reload(base)
    assert EndpointConfig("e", ModelConfig("m"), ComputeConfig(max_replica=3)).needs_reload(base)


@pytest.mark.parametrize(("raw", "seconds"), [(None, 0.0), ("0", 0.0), ("2.5", 2.5), (" 30 ", 30.0)])
def test_the_scale_up_timeout_header_is_seconds(raw: str | None, seconds: float) -> None:
    headers = {} if raw is None else {"x-scale-up-timeout": raw}
    assert scale_up_timeout(headers) == seconds


@pytest.mark.parametrize("raw", ["-1", "soon", "inf", "nan"])
def test_a_bad_scale_up_timeout_is_refused(raw: str) -> None:
    with pytest.raises(ValidationFailed, match="X-Scale-Up-Timeout"):
        scale_up_timeout({"x-scale-up-timeout": raw})


class GatedLoader:
    """Loads an echo model once ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()

    def __call__(
        self, config: EndpointConfig, settings: Settings, metrics: Metrics, budget: MemoryBudget
    ) -> Deployment:
        self.gate.wait(10)
        runner = ReplicaRunner([lambda body: {"echo": body["inputs"]}], max_queued=4)
        return Deployment(config.with_task("custom"), Path("."), Pipeline(runner, ranks=False))


async def test_a_cold_call_waits_up_to_its_scale_up_timeout(tmp_path: Path) -> None:
    db = Database.in_data_dir(tmp_path)
    loader = GatedLoader()
    settings = Settings(data_dir=tmp_path, idle_check_seconds=3600)
    manager = EndpointManager(settings, SqliteEndpointStore(db), Metrics(), loader=loader)
    await manager.start()
    try:
        compute = ComputeConfig(min_replica=0, scale_to_zero_timeout=1)
        await manager.create(EndpointConfig("cold", ModelConfig("org/model", task="custom"), compute))
        started = time.monotonic()
        with pytest.raises(ModelLoading):  # still loading after the timeout: the usual 503
            async with manager.serving("cold", scale_up_timeout=0.2):
                pass
        assert time.monotonic() - started >= 0.2
        with pytest.raises(ModelLoading):  # no timeout: at once, as before
            async with manager.serving("cold"):
                pass

        async def open_gate() -> None:
            await asyncio.sleep(0.1)
            loader.gate.set()

        opening = asyncio.create_task(open_gate())
        async with manager.serving("cold", scale_up_timeout=30) as deployment:
            assert await deployment.predict({"inputs": "hi"}) == {"echo": "hi"}
        await opening
    finally:
        loader.gate.set()
        await manager.close()
