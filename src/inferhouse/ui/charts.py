"""Line charts of an endpoint's last hour, drawn on the server as inline SVG.

The page needs no chart script: the SVG is markup (allowed by the Content-Security-Policy, which forbids
inline scripts and styles but not inline images), styled by ``style.css`` through classes, and htmx swaps
in a fresh one every few seconds. Lines differ by dash as well as colour, so they read without colour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

WIDTH = 720
HEIGHT = 160
PAD_LEFT = 56  # room for the axis' top value
PAD_BOTTOM = 20  # room for the time labels


@dataclass(frozen=True)
class Line:
    label: str
    css_class: str  # the stroke and dash pattern, from style.css
    points: str  # SVG polyline points; empty when the line has fewer than two values
    dots: list[tuple[str, str]] = field(default_factory=list)  # (x, y) of each value, when marked


@dataclass(frozen=True)
class Chart:
    title: str
    top: str  # the value at the top of the y axis, with its unit
    lines: list[Line]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = PAD_LEFT
    bottom: int = HEIGHT - PAD_BOTTOM
    start_label: str = ""
    end_label: str = "now"


def nice_top(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return float(step * power)
    return float(10 * power)  # pragma: no cover - the loop's last step always fits


def _label(value: float, unit: str) -> str:
    shown = f"{value:g}" if value >= 1 else f"{value:.2g}"
    return f"{shown} {unit}"


def _coordinates(values: list[float | None], top: float) -> list[tuple[float, float]]:
    """Where ``values`` lie on the plot, spread over its width; a missing value is skipped."""
    span = max(len(values) - 1, 1)
    plot_width, plot_height = WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM
    return [
        (PAD_LEFT + plot_width * index / span, plot_height - plot_height * min(value, top) / top)
        for index, value in enumerate(values)
        if value is not None
    ]


def _line(label: str, css_class: str, values: list[float | None], top: float, *, dots: bool = False) -> Line:
    """A polyline of ``values``; with ``dots``, a dot on each value too (latency comes from few buckets:
    a lone bucket would otherwise draw nothing)."""
    where = _coordinates(values, top)
    points = " ".join(f"{x:.1f},{y:.1f}" for x, y in where) if len(where) > 1 else ""
    marks = [(f"{x:.1f}", f"{y:.1f}") for x, y in where] if dots else []
    return Line(label, css_class, points, marks)


def _minutes(history: dict[str, Any]) -> str:
    return f"{history['windowSeconds'] // 60} min ago"


def request_chart(history: dict[str, Any]) -> Chart:
    """Requests and errors per second, bucket by bucket."""
    seconds = history["bucketSeconds"]
    rates = [point["requests"] / seconds for point in history["series"]]
    errors = [point["errors"] / seconds for point in history["series"]]
    top = nice_top(max(rates, default=0.0))
    return Chart(
        title="Requests per second",
        top=_label(top, "req/s"),
        lines=[
            _line("requests", "line-requests", list(rates), top),
            _line("errors", "line-errors", list(errors), top),
        ],
        start_label=_minutes(history),
    )


def latency_chart(history: dict[str, Any]) -> Chart:
    """p50 and p99 latency of the buckets that had requests."""
    p50 = [point["p50Ms"] for point in history["series"]]
    p99 = [point["p99Ms"] for point in history["series"]]
    top = nice_top(max((value for value in p99 if value is not None), default=0.0))
    return Chart(
        title="Latency",
        top=_label(top, "ms"),
        lines=[_line("p50", "line-p50", p50, top, dots=True), _line("p99", "line-p99", p99, top, dots=True)],
        start_label=_minutes(history),
    )
