"""Scaling the in-process runtimes at their edges: no build, zero, failed builds, replicas of several
threads, stopped runtimes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from inferhouse.engine.batcher import start_batching
from inferhouse.engine.replicas import ReplicaRunner, start_threads
from inferhouse.engine.runtime import RuntimeHealth
from inferhouse.errors import Unavailable
from tests.support.runtime_model import TIMEOUT_S, ContractModel, Copies


class Pair(ContractModel):
    """A copy that runs two passes at once, each on its own thread (as ONNX sessions do)."""

    concurrency = 2


def threads_named(prefix: str) -> int:
    return sum(thread.name.startswith(prefix) for thread in threading.enumerate())


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.005)


async def test_without_build_a_runner_regrows_only_to_the_copies_it_was_given() -> None:
    copies = Copies()
    runner = ReplicaRunner([copies(), copies()], max_queued=8)
    try:
        await asyncio.to_thread(runner.scale, 1)
        assert len(runner.models) == 1
        await asyncio.to_thread(runner.scale, 2)  # the stopped copy starts again
        assert sorted(model.number for model in runner.models) == [0, 1]
        with pytest.raises(ValueError, match="without build="):
            runner.scale(3)
        assert runner.health() == RuntimeHealth(replicas=2, queued=0, stopped=False)
        assert copies.made == 2
    finally:
        runner.stop()


async def test_scaling_to_the_same_count_builds_nothing_and_a_negative_count_is_refused() -> None:
    copies = Copies()
    runner = start_threads(copies, 2, max_queued=8)
    try:
        runner.scale(2)
        assert copies.made == 2
        with pytest.raises(ValueError, match="at least 0"):
            runner.scale(-1)
    finally:
        runner.stop()


async def test_a_failed_build_leaves_the_replicas_as_they_were() -> None:
    copies = Copies()

    def build() -> ContractModel:
        if copies.made == 2:
            raise MemoryError("no room for a third copy")
        return copies()

    runner = start_threads(build, 1, max_queued=8, name="failed-build")
    try:
        with pytest.raises(MemoryError):
            await asyncio.to_thread(runner.scale, 3)
        assert runner.replicas == 1
        assert threads_named("replica-failed-build-") == 1  # the copy built before the failure never started
        assert await runner.call(lambda model: model.number) == 0
    finally:
        runner.stop()


async def test_at_zero_replicas_calls_are_refused_until_scaled_up() -> None:
    copies = Copies()
    runner = start_threads(copies, 1, max_queued=8, name="zero")
    try:
        await asyncio.to_thread(runner.scale, 0)
        wait_for(lambda: threads_named("replica-zero-") == 0)
        assert runner.models == []
        with pytest.raises(Unavailable, match="scaled to zero"):
            await runner.call(lambda model: model.number)
        await asyncio.to_thread(runner.scale, 1)
        assert await runner.call(lambda model: model.number) == 1
    finally:
        runner.stop()


async def test_a_stopped_runtime_cannot_scale_and_stopping_at_zero_is_immediate() -> None:
    runner = start_threads(Copies(), 1, max_queued=8)
    await asyncio.to_thread(runner.scale, 0)
    await asyncio.to_thread(runner.stop)
    assert runner.health() == RuntimeHealth(replicas=0, queued=0, stopped=True)
    with pytest.raises(Unavailable, match="unloaded"):
        runner.scale(1)


async def test_a_batcher_scales_whole_replicas_of_several_threads() -> None:
    copies = Copies()
    made: list[Pair] = []

    def build() -> Pair:  # called by one thread at a time (start, then scale)
        made.append(Pair(len(made), copies))
        return made[-1]

    batcher = start_batching(build, 2, max_queued=64, name="pairs")
    try:
        assert batcher.workers == 4
        await asyncio.to_thread(batcher.scale, 1)
        assert batcher.workers == 2
        # Both threads of the stopped copy leave, not one of each copy.
        wait_for(lambda: threads_named("batcher-pairs-") == 2)
        output = await batcher.embed(["still served"])
        assert np.array_equal(output.vectors[0], [1, output.vectors[0][1]])
        assert await batcher.call(lambda model: model.number) == output.vectors[0][1]
        await asyncio.to_thread(batcher.scale, 0)
        wait_for(lambda: threads_named("batcher-pairs-") == 0)
        with pytest.raises(Unavailable):
            await batcher.embed(["refused"])
        await asyncio.to_thread(batcher.scale, 2)
        assert batcher.workers == 4
        assert (await batcher.embed(["back"])).vectors[0][1] in (2, 3)
    finally:
        batcher.stop()
    wait_for(lambda: threads_named("batcher-pairs-") == 0)
