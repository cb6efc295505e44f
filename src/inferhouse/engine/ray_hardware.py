"""Ray Serve scaling on replicas' CPU use: Inference Endpoints' ``hardwareUsage`` metric on Ray.

Each replica reports :data:`CPU_PERCENT`, its process's CPU time over wall time as a percentage of the
CPUs it asked Ray for (all of its threads: a replica that asked for one CPU and keeps one busy reports
100). Serve averages the reports over its look-back window and asks :class:`HardwareUsagePolicy` for a
replica count, then applies the deployment's bounds and up/down delays itself. Serve pickles this module
by value into its controller, so it imports nothing of the project.
"""

from __future__ import annotations

import time
from typing import Any

CPU_PERCENT = "inferhouse_cpu_percent"
POLICY = f"{__name__}:HardwareUsagePolicy"


class CpuUsage:
    """This process's CPU use since the last :meth:`sample`, in percent of ``cpus``."""

    def __init__(self, cpus: float) -> None:
        self._cpus = cpus if cpus > 0 else 1.0  # a replica that asked for no CPU still uses one
        self._last = (time.monotonic(), time.process_time())

    def sample(self) -> float:
        wall, cpu = time.monotonic(), time.process_time()
        last_wall, last_cpu = self._last
        self._last = (wall, cpu)
        elapsed = wall - last_wall
        return 0.0 if elapsed <= 0 else 100.0 * (cpu - last_cpu) / elapsed / self._cpus


class HardwareUsagePolicy:
    """Replicas in proportion to the mean CPU use over the threshold, as the in-process autoscaler
    does: 2 replicas at 90% with a threshold of 60 want 3."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def __call__(self, ctx: Any) -> tuple[float, dict[str, Any]]:
        running = int(ctx.current_num_replicas)
        usage: dict[Any, float] = (ctx.aggregated_metrics or {}).get(CPU_PERCENT, {})
        if running == 0 or not usage:  # nothing measured yet: stay where Serve is headed
            return ctx.target_num_replicas, {}
        mean = sum(usage.values()) / len(usage)
        return running * mean / self.threshold, {}
