"""The ingest's progress bar: rows done of all, rows per second and time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Rows per second, measured over this run only (resumed rows do not inflate it)."""

    def render(self, task: Task) -> Text:
        speed = task.speed
        return Text(f"{speed:,.1f} rows/s" if speed else "- rows/s", style="progress.data.speed")


def ingest_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}", style="progress.description", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeRemainingColumn(),
        console=console,
    )
