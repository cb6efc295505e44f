"""Scale to zero: when each endpoint last served a request, and which ones have been idle long enough to
unload."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from inferhouse.endpoints.config import State, StoredEndpoint
from inferhouse.endpoints.deployment import Deployment

log = logging.getLogger(__name__)


class IdleWatch:
    """Remembers when each endpoint was last used, by ``clock``'s seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._last_used: dict[str, float] = {}

    def used(self, name: str) -> None:
        self._last_used[name] = self._clock()

    def forget(self, name: str) -> None:
        self._last_used.pop(name, None)

    def due(
        self, records: Mapping[str, StoredEndpoint], deployments: Mapping[str, Deployment]
    ) -> list[tuple[str, int]]:
        """(name, timeout) of every running endpoint with minReplica 0, no request in flight and none
        started for its scaleToZeroTimeout (minutes)."""
        now = self._clock()
        due = []
        for name, record in records.items():
            scaling = record.config.compute
            timeout = scaling.scale_to_zero_timeout
            deployment = deployments.get(name)
            if scaling.min_replica != 0 or not timeout or timeout <= 0 or deployment is None:
                continue
            if record.status.state is not State.RUNNING or deployment.in_flight:
                continue
            if now - self._last_used.get(name, now) >= timeout * 60:
                due.append((name, timeout))
        return due


async def reap_forever(interval: Callable[[], float], reap: Callable[[], object]) -> None:
    """Call ``reap`` every ``interval()`` seconds until cancelled; a failing pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval())
        try:
            reap()
        except Exception:  # the reaper must outlive a bug in one pass
            log.exception("scaling idle endpoints to zero failed")
