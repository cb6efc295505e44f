"""The on-demand loader behind serverless models: load once, 503 while loading, fail once, evict."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inferhouse.endpoints.on_demand import OnDemand
from inferhouse.errors import BackendFailure, ModelLoading


async def test_every_caller_waiting_on_a_failed_load_gets_a_424() -> None:
    started = asyncio.Event()

    async def broken() -> str:
        started.set()
        await asyncio.sleep(0.01)
        raise RuntimeError("weights are corrupt")

    models: OnDemand[str] = OnDemand(lambda: 2, lambda _: None)
    waiters = [models.get("m", Path("/m"), broken) for _ in range(3)]
    outcomes = await asyncio.gather(*waiters, return_exceptions=True)
    assert started.is_set()
    assert all(isinstance(outcome, BackendFailure) for outcome in outcomes), outcomes
    assert "weights are corrupt" in str(outcomes[0])

    async def fixed() -> str:
        return "loaded"

    assert await models.get("m", Path("/m"), fixed) == "loaded"  # the next call loads again


async def test_a_caller_that_does_not_wait_is_told_to_retry_and_the_least_recent_is_unloaded() -> None:
    unloaded: list[str] = []
    models: OnDemand[str] = OnDemand(lambda: 1, unloaded.append)

    async def make(name: str) -> str:
        return name

    with pytest.raises(ModelLoading):
        await models.get("a", Path("/a"), lambda: make("a"), wait=False)
    assert await models.get("a", Path("/a"), lambda: make("never")) == "a"  # the load started above
    assert await models.get("b", Path("/b"), lambda: make("b")) == "b"
    assert unloaded == ["a"]
    assert models.loaded() == ["b"]
