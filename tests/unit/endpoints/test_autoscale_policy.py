"""The autoscaling policy, a pure function: replicas, load, bounds and how long the load has pointed one way
decide the replicas to run."""

from __future__ import annotations

import time

from inferhouse.endpoints.autoscale import Bounds, CpuMeter, Trend, plan

BOUNDS = Bounds(floor=1, ceiling=4, threshold=1.0, up_seconds=10.0, down_seconds=60.0)


def test_steady_load_keeps_the_replicas() -> None:
    assert plan(2, 1.0, BOUNDS, Trend(), now=100.0) == (2, Trend(0, 100.0))


def test_load_above_the_threshold_scales_up_only_after_the_up_window() -> None:
    replicas, trend = plan(1, 3.0, BOUNDS, Trend(), now=100.0)
    assert (replicas, trend) == (1, Trend(1, 100.0))
    replicas, trend = plan(1, 3.0, BOUNDS, trend, now=109.9)
    assert (replicas, trend) == (1, Trend(1, 100.0))
    # Enough replicas to bring three pending requests per replica down to the threshold of one.
    assert plan(1, 3.0, BOUNDS, trend, now=110.0) == (3, Trend(0, 110.0))


def test_scaling_up_stops_at_max_replica_and_adds_at_least_one() -> None:
    up = Trend(1, 0.0)
    assert plan(2, 50.0, BOUNDS, up, now=100.0)[0] == 4
    assert plan(2, 1.1, BOUNDS, up, now=100.0)[0] == 3
    assert plan(4, 50.0, BOUNDS, up, now=100.0) == (4, Trend(0, 100.0))


def test_load_under_the_threshold_scales_down_after_the_cool_down_to_the_floor() -> None:
    replicas, trend = plan(4, 0.0, BOUNDS, Trend(), now=100.0)
    assert (replicas, trend) == (4, Trend(-1, 100.0))
    assert plan(4, 0.0, BOUNDS, trend, now=159.0)[0] == 4
    assert plan(4, 0.0, BOUNDS, trend, now=160.0) == (1, Trend(0, 160.0))
    # Some load left: only down to the replicas that keep it under the threshold.
    assert plan(4, 0.5, BOUNDS, trend, now=160.0)[0] == 2


def test_a_change_of_direction_restarts_the_window() -> None:
    _, trend = plan(2, 5.0, BOUNDS, Trend(), now=100.0)
    _, trend = plan(2, 0.0, BOUNDS, trend, now=105.0)
    assert trend == Trend(-1, 105.0)
    _, trend = plan(2, 5.0, BOUNDS, trend, now=106.0)
    assert plan(2, 5.0, BOUNDS, trend, now=115.0)[0] == 2
    assert plan(2, 5.0, BOUNDS, trend, now=116.0)[0] == 4


def test_replicas_outside_changed_bounds_move_back_at_once() -> None:
    assert plan(6, 9.0, BOUNDS, Trend(), now=100.0) == (4, Trend(0, 100.0))
    floor_two = Bounds(floor=2, ceiling=4, threshold=1.0, up_seconds=10.0, down_seconds=60.0)
    assert plan(1, 0.0, floor_two, Trend(), now=100.0) == (2, Trend(0, 100.0))


def test_hardware_usage_scales_in_proportion_to_its_percentage() -> None:
    cpu = Bounds(floor=1, ceiling=8, threshold=80.0, up_seconds=0.0, down_seconds=0.0)
    assert plan(2, 100.0, cpu, Trend(), now=0.0)[0] == 3
    assert plan(2, 20.0, cpu, Trend(), now=0.0)[0] == 1


def test_the_cpu_meter_reads_this_processs_utilisation() -> None:
    now = [0.0]
    meter = CpuMeter(lambda: now[0])
    assert meter.sample() == 0.0  # no time has passed
    busy_until = time.process_time() + 0.05
    while time.process_time() < busy_until:
        pass
    now[0] = 1.0  # 50 ms or more of CPU in one second: a few percent of the cores
    assert 0.0 < meter.sample() <= 100.0
