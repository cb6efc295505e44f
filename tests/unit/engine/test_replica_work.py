"""What each replica of the in-process runtimes reports having done: its slot, the calls it took, the
inputs it computed and the seconds it was busy."""

from __future__ import annotations

import asyncio
import threading

import pytest

from inferhouse.engine.batcher import start_batching
from inferhouse.engine.replicas import start_threads
from inferhouse.engine.roster import ReplicaWork
from tests.support.runtime_model import Copies


class Reports:
    """Collects the reports of one runtime (its worker threads report concurrently)."""

    def __init__(self) -> None:
        self.seen: list[ReplicaWork] = []
        self._lock = threading.Lock()

    def __call__(self, work: ReplicaWork) -> None:
        with self._lock:
            self.seen.append(work)

    def started(self) -> list[int]:
        """The slots of replicas as they started (each announces itself with an empty report)."""
        return [work.slot for work in self.seen if work == ReplicaWork(work.slot)]

    def totals(self, slot: int | None = None) -> tuple[int, int, float]:
        chosen = [work for work in self.seen if slot is None or work.slot == slot]
        return (
            sum(work.calls for work in chosen),
            sum(work.inputs for work in chosen),
            sum(work.busy_seconds for work in chosen),
        )


async def test_each_thread_replica_reports_its_calls_under_its_slot() -> None:
    copies, reports = Copies(), Reports()
    runner = start_threads(copies, 2, max_queued=16, on_work=reports)
    try:
        assert reports.started() == [0, 1]
        assert reports.totals() == (0, 0, 0.0)
        # Two calls that only return together run one on each replica.
        both = copies.meeting(2)
        await asyncio.gather(runner.call(both), runner.call(both))
        for _ in range(3):
            await runner.call(lambda model: model.number)
    finally:
        runner.stop()
    calls, inputs, busy = reports.totals()
    assert (calls, inputs) == (5, 5)
    assert busy > 0
    for slot in (0, 1):
        assert reports.totals(slot)[0] >= 1
    assert {work.slot for work in reports.seen} == {0, 1}


async def test_a_replacement_takes_the_slot_of_the_replica_it_replaces() -> None:
    copies, reports = Copies(), Reports()
    runner = start_threads(copies, 2, max_queued=16, on_work=reports)
    try:
        await asyncio.to_thread(runner.scale, 1)
        await asyncio.to_thread(runner.scale, 2)
        assert copies.made == 3  # a new copy ...
        started = reports.started()
        assert (len(started), set(started)) == (3, {0, 1})  # ... in the freed slot
        await asyncio.to_thread(runner.scale, 3)
        assert reports.started()[-1] == 2
    finally:
        runner.stop()
    assert {work.slot for work in reports.seen} == {0, 1, 2}


async def test_batching_replicas_report_requests_taken_and_inputs_computed() -> None:
    copies, reports = Copies(), Reports()
    batcher = start_batching(copies, 2, max_queued=256, name="reports", on_work=reports)
    texts = [[f"request {i} text {j}" for j in range(1 + i % 4)] for i in range(12)]
    try:
        assert reports.started() == [0, 1]
        results = await asyncio.gather(*(batcher.embed(request) for request in texts))
        number = await batcher.call(lambda model: model.number)
    finally:
        batcher.stop()
    assert [len(result.vectors) for result in results] == [len(request) for request in texts]
    calls, inputs, busy = reports.totals()
    assert calls == len(texts) + 1  # every request, and the call
    assert inputs == sum(len(request) for request in texts) + 1
    assert busy > 0
    assert reports.totals(int(number))[0] >= 1


async def test_a_request_whose_caller_left_before_its_turn_is_not_counted() -> None:
    copies, reports = Copies(), Reports()
    batcher = start_batching(copies, 1, max_queued=16, name="left", on_work=reports)
    try:
        copies.close_gate()
        held = asyncio.ensure_future(batcher.embed(["held"]))
        await asyncio.to_thread(copies.wait_entered, 1)
        left = asyncio.ensure_future(batcher.embed(["left before its turn"]))
        await asyncio.sleep(0.05)
        left.cancel()
        with pytest.raises(asyncio.CancelledError):
            await left  # once it is, the batcher sees the request cancelled
        copies.open_gate()
        await held
        await batcher.embed(["after"])
    finally:
        copies.open_gate()
        batcher.stop()
    assert reports.totals()[:2] == (2, 2)
