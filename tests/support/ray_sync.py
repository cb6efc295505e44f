"""The runtime contract model's shared state as a Ray actor, for replicas in other processes."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import ray


@ray.remote(num_cpus=0)
class _SyncActor:
    def __init__(self) -> None:
        self.made = 0
        self.entered = 0
        self.gate = asyncio.Event()
        self.gate.set()
        self.changed = asyncio.Condition()
        self.arrived: dict[int, int] = {}

    def next_number(self) -> int:
        self.made += 1
        return self.made - 1

    def count(self) -> int:
        return self.made

    def open_gate(self) -> None:
        self.gate.set()

    def close_gate(self) -> None:
        self.gate.clear()

    async def wait_gate(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.gate.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def enter(self) -> None:
        async with self.changed:
            self.entered += 1
            self.changed.notify_all()

    async def wait_entered(self, calls: int, timeout: float) -> bool:
        async with self.changed:
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.entered >= calls), timeout)
            except TimeoutError:
                return False
            self.entered -= calls
            return True

    async def meet(self, key: int, parties: int, timeout: float) -> bool:
        async with self.changed:
            self.arrived[key] = self.arrived.get(key, 0) + 1
            self.changed.notify_all()
            try:
                await asyncio.wait_for(self.changed.wait_for(lambda: self.arrived[key] >= parties), timeout)
            except TimeoutError:
                return False
            return True


class RayMeeting:
    def __init__(self, actor: Any, key: int, parties: int) -> None:
        self._actor, self._key, self._parties = actor, key, parties

    def wait(self, timeout: float) -> bool:
        met: bool = ray.get(self._actor.meet.remote(self._key, self._parties, timeout))
        if not met:
            raise TimeoutError("the other calls never arrived")
        return met


class RaySync:
    """:class:`tests.support.runtime_model.Sync` over an actor: picklable, so copies built in Ray
    replicas share it with the test."""

    def __init__(self) -> None:
        self._actor = _SyncActor.remote()  # type: ignore[attr-defined]
        self._keys = itertools.count()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_attached, (self._actor,))

    def next_number(self) -> int:
        return int(ray.get(self._actor.next_number.remote()))

    def made(self) -> int:
        return int(ray.get(self._actor.count.remote()))

    def open_gate(self) -> None:
        ray.get(self._actor.open_gate.remote())

    def close_gate(self) -> None:
        ray.get(self._actor.close_gate.remote())

    def wait_gate(self, timeout: float) -> bool:
        return bool(ray.get(self._actor.wait_gate.remote(timeout)))

    def enter(self) -> None:
        ray.get(self._actor.enter.remote())

    def wait_entered(self, calls: int, timeout: float) -> bool:
        return bool(ray.get(self._actor.wait_entered.remote(calls, timeout)))

    def meeting(self, parties: int) -> RayMeeting:
        return RayMeeting(self._actor, next(self._keys), parties)


def _attached(actor: Any) -> RaySync:
    sync = RaySync.__new__(RaySync)
    sync._actor = actor
    sync._keys = itertools.count()
    return sync
