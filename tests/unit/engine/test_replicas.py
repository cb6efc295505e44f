"""Replicas share one queue: whichever is free takes the next call."""

from __future__ import annotations

import asyncio
import threading

import pytest

from inferhouse.engine.replicas import ReplicaRunner
from inferhouse.errors import BackendFailure, Overloaded, Unavailable, ValidationFailed


class Replica:
    def __init__(self, name: str, gate: threading.Event) -> None:
        self.name = name
        self.gate = gate

    def work(self) -> str:
        self.gate.wait(5)
        return self.name


async def test_two_replicas_serve_two_calls_at_once() -> None:
    gate = threading.Event()
    runner = ReplicaRunner([Replica("a", gate), Replica("b", gate)], max_queued=8)
    calls = [asyncio.ensure_future(runner.call(lambda replica: replica.work())) for _ in range(2)]
    await asyncio.sleep(0.1)
    assert runner.queued == 0  # both were taken, one per replica, while the gate is still shut
    gate.set()
    assert sorted(await asyncio.gather(*calls)) == ["a", "b"]
    runner.close()


async def test_a_full_queue_is_overloaded_and_errors_keep_their_kind() -> None:
    gate = threading.Event()
    runner = ReplicaRunner([Replica("only", gate)], max_queued=1)
    busy = asyncio.ensure_future(runner.call(lambda replica: replica.work()))
    await asyncio.sleep(0.05)
    waiting = asyncio.ensure_future(runner.call(lambda replica: replica.work()))
    await asyncio.sleep(0.05)
    with pytest.raises(Overloaded):
        await runner.call(lambda replica: replica.work())
    gate.set()
    assert await busy == "only"
    assert await waiting == "only"

    def invalid(replica: Replica) -> str:
        raise ValidationFailed("bad input")

    def broken(replica: Replica) -> str:
        raise RuntimeError("boom")

    with pytest.raises(ValidationFailed):
        await runner.call(invalid)
    with pytest.raises(BackendFailure, match="RuntimeError: boom"):
        await runner.call(broken)
    assert await runner.call(lambda replica: replica.work()) == "only"  # the replica survived
    runner.close()


async def test_calls_queued_before_close_are_answered_and_later_ones_refused() -> None:
    gate = threading.Event()
    runner = ReplicaRunner([Replica("only", gate)], max_queued=8)
    queued = [asyncio.ensure_future(runner.call(lambda replica: replica.work())) for _ in range(3)]
    await asyncio.sleep(0.05)
    closing = asyncio.ensure_future(asyncio.to_thread(runner.close))
    await asyncio.sleep(0.05)
    with pytest.raises(Unavailable, match="unloaded"):
        await runner.call(lambda replica: replica.work())
    gate.set()
    assert await asyncio.gather(*queued) == ["only"] * 3
    await closing
