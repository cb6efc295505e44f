"""hardwareUsage on Ray: the CPU a replica reports, the count the policy asks for, and the
``autoscaling_config`` that carries the policy to Serve."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from inferhouse.engine.ray_hardware import CPU_PERCENT, POLICY, CpuUsage, HardwareUsagePolicy


def _context(running: int, target: int, usage: dict[str, float] | None) -> SimpleNamespace:
    metrics = None if usage is None else {CPU_PERCENT: usage}
    return SimpleNamespace(
        current_num_replicas=running, target_num_replicas=target, aggregated_metrics=metrics
    )


def test_the_policy_asks_for_replicas_in_proportion_to_the_mean_use() -> None:
    policy = HardwareUsagePolicy(threshold=60)
    assert policy(_context(2, 2, {"a": 80.0, "b": 100.0}))[0] == pytest.approx(3.0)
    assert policy(_context(3, 3, {"a": 10.0, "b": 20.0, "c": 0.0}))[0] == pytest.approx(0.5)


def test_without_reports_the_policy_keeps_the_target() -> None:
    policy = HardwareUsagePolicy(threshold=60)
    assert policy(_context(2, 4, None)) == (4, {})
    assert policy(_context(0, 1, {})) == (1, {})


def test_busy_cpu_reads_high_and_sleep_reads_low() -> None:
    usage = CpuUsage(cpus=1.0)
    deadline = time.monotonic() + 0.3
    while time.monotonic() < deadline:
        pass
    busy = usage.sample()
    time.sleep(0.3)
    idle = usage.sample()
    assert busy > 20 > idle, (busy, idle)


def test_a_hardware_usage_deployment_carries_the_policy_and_its_threshold() -> None:
    from inferhouse.engine.ray_runtime import RayAutoscaling

    pending = RayAutoscaling(1, 3, 2.0, 1.0, 5.0)
    assert "policy" not in pending.config(1)
    hardware = RayAutoscaling(1, 3, 2.0, 1.0, 5.0, cpu_percent=70.0).config(2)
    assert hardware["policy"] == {"policy_function": POLICY, "policy_kwargs": {"threshold": 70.0}}
    assert (hardware["min_replicas"], hardware["max_replicas"], hardware["initial_replicas"]) == (1, 3, 2)
    assert "cpu_percent" not in hardware
