"""What every runtime does, whatever runs its replicas (see conftest.RUNTIME_STARTERS)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import pytest

from inferhouse.engine.runtime import RuntimeHealth
from inferhouse.errors import BackendFailure, Overloaded, Unavailable, ValidationFailed
from tests.contract.conftest import StartRuntime
from tests.support.runtime_model import TIMEOUT_S, ContractModel, Copies

T = TypeVar("T")


async def within(awaitable: Awaitable[T]) -> T:
    return await asyncio.wait_for(awaitable, TIMEOUT_S)


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        assert time.monotonic() < deadline, "the runtime never got there"
        await asyncio.sleep(0.005)


def number(model: ContractModel) -> int:
    return model.number


def hold(model: ContractModel) -> int:
    return model.hold()


async def test_a_call_runs_on_a_replica_and_returns_its_result(
    start_runtime: StartRuntime, copies: Copies
) -> None:
    runtime = start_runtime(copies, 1)
    assert await within(runtime.call(lambda model: (model.number, "hello"))) == (0, "hello")
    assert runtime.replicas == 1


async def test_concurrent_calls_spread_over_replicas(
    start_spreading_runtime: StartRuntime, copies: Copies
) -> None:
    runtime = start_spreading_runtime(copies, 3)
    meet = copies.meeting(3)  # passes only once three calls run at once
    numbers = await within(asyncio.gather(*(runtime.call(meet) for _ in range(3))))
    assert sorted(numbers) == [0, 1, 2]


async def test_requests_waiting_together_share_a_pass_where_the_runtime_batches(
    start_runtime: StartRuntime, copies: Copies
) -> None:
    runtime: Any = start_runtime(copies, 1)
    if not runtime.batches:
        pytest.skip("this runtime runs one call at a time")
    copies.close_gate()
    first = asyncio.ensure_future(runtime.embed(["first"]))
    await asyncio.to_thread(copies.wait_entered, 1)  # its pass holds the only replica
    later = [asyncio.ensure_future(runtime.embed([f"text {i}"])) for i in range(7)]
    await until(lambda: runtime.health().queued == 8)
    await asyncio.sleep(0.3)  # requests sent to a replica in another process are on their way there
    copies.open_gate()
    outputs = await within(asyncio.gather(first, *later))
    assert [int(output.vectors[0][0]) for output in outputs] == [1] + [7] * 7  # inputs in each one's pass


async def test_scaling_up_and_down_fails_no_request(
    start_spreading_runtime: StartRuntime, copies: Copies
) -> None:
    runtime = start_spreading_runtime(copies, 1)
    answered: list[int] = []
    loading = True

    async def load() -> None:
        while loading:
            answered.append(await runtime.call(number))

    loaders = [asyncio.ensure_future(load()) for _ in range(4)]
    await within(asyncio.to_thread(runtime.scale, 3))
    assert runtime.health().replicas == 3
    meet = copies.meeting(3)
    met = await within(asyncio.gather(*(runtime.call(meet) for _ in range(3))))
    assert sorted(met) == [0, 1, 2]
    await within(asyncio.to_thread(runtime.scale, 1))
    loading = False
    await within(asyncio.gather(*loaders))  # any failed call fails the test here
    assert answered
    assert runtime.health().replicas == 1
    assert len({await within(runtime.call(number)) for _ in range(6)}) == 1  # one replica is left

    copies.close_gate()
    held = [asyncio.ensure_future(runtime.call(hold)) for _ in range(2)]
    await asyncio.to_thread(copies.wait_entered, 1)
    scaling = asyncio.ensure_future(asyncio.to_thread(runtime.scale, 0))
    await until(lambda: runtime.replicas == 0)
    with pytest.raises(Unavailable):
        await within(runtime.call(number))
    assert not scaling.done()  # it waits for the work taken before
    copies.open_gate()
    remaining = await within(asyncio.gather(*held))
    assert len(set(remaining)) == 1
    await within(scaling)
    assert runtime.health() == RuntimeHealth(replicas=0, queued=0, stopped=False)

    await within(asyncio.to_thread(runtime.scale, 1))
    assert await within(runtime.call(number)) == 3  # a fresh copy: 0, then 1 and 2, then this one
    assert copies.made == 4


async def test_stop_answers_accepted_work_then_refuses(start_runtime: StartRuntime, copies: Copies) -> None:
    runtime = start_runtime(copies, 1)
    copies.close_gate()
    held = [asyncio.ensure_future(runtime.call(hold)) for _ in range(3)]
    await asyncio.to_thread(copies.wait_entered, 1)
    await until(lambda: runtime.health().queued == 3)
    stopping = asyncio.ensure_future(asyncio.to_thread(runtime.stop))
    await until(lambda: runtime.health().stopped)
    with pytest.raises(Unavailable):
        await within(runtime.call(number))
    copies.open_gate()
    assert await within(asyncio.gather(*held)) == [0, 0, 0]
    await within(stopping)
    assert runtime.health() == RuntimeHealth(replicas=0, queued=0, stopped=True)
    with pytest.raises(Unavailable):
        await within(asyncio.to_thread(runtime.scale, 1))
    await within(asyncio.to_thread(runtime.stop))  # a second stop does nothing


async def test_health_counts_replicas_and_unanswered_work(
    start_spreading_runtime: StartRuntime, copies: Copies
) -> None:
    runtime = start_spreading_runtime(copies, 2)
    assert runtime.health() == RuntimeHealth(replicas=2, queued=0, stopped=False)
    copies.close_gate()
    held = [asyncio.ensure_future(runtime.call(hold)) for _ in range(5)]
    await asyncio.to_thread(copies.wait_entered, 2)  # two running, three waiting
    await until(lambda: runtime.health().queued == 5)
    copies.open_gate()
    assert sorted(set(await within(asyncio.gather(*held)))) == [0, 1]
    assert runtime.health() == RuntimeHealth(replicas=2, queued=0, stopped=False)


async def test_a_replica_whose_model_raises_fails_only_that_caller(
    start_spreading_runtime: StartRuntime, copies: Copies
) -> None:
    copies.broken = frozenset({1})
    runtime = start_spreading_runtime(copies, 2)
    for _ in range(2):  # the broken replica keeps serving, and keeps failing only its own callers
        meet = copies.meeting(2)
        calls = [runtime.call(meet) for _ in range(2)]
        results = await within(asyncio.gather(*calls, return_exceptions=True))
        assert 0 in results
        [failure] = [result for result in results if isinstance(result, BaseException)]
        assert isinstance(failure, BackendFailure)
        assert "RuntimeError: copy 1 is broken" in failure.message

    def invalid(model: ContractModel) -> int:
        raise ValidationFailed("bad input")

    with pytest.raises(ValidationFailed, match="bad input"):  # the project's own errors keep their kind
        await within(runtime.call(invalid))


async def test_a_full_queue_refuses_with_overloaded_and_recovers(
    start_runtime: StartRuntime, copies: Copies
) -> None:
    runtime = start_runtime(copies, 1, max_queued=2)
    copies.close_gate()
    calls: list[asyncio.Future[int]] = []
    for _ in range(4):  # the bound (2) plus the replica's own call, then one more
        calls.append(asyncio.ensure_future(runtime.call(hold)))
        await asyncio.sleep(0)  # the call is queued, or refused, on its first step
        if calls[-1].done():
            break
    *accepted, refused = calls
    with pytest.raises(Overloaded):
        refused.result()
    assert 2 <= len(accepted) <= 3
    copies.open_gate()
    assert await within(asyncio.gather(*accepted)) == [0] * len(accepted)
    assert await within(runtime.call(number)) == 0
