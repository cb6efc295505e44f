"""Clocks for code that waits: time moves only when the code under test sleeps."""

from __future__ import annotations


class FakeTime:
    """A clock that only moves when someone sleeps (or a test advances ``now``); records every sleep."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FrozenTime(FakeTime):
    """A clock that records sleeps but never moves, as when many callers arrive at one instant."""

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
