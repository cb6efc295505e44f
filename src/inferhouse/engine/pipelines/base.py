"""The contract of a task model: one decoded request body in, one JSON-able reply out.

Calls are synchronous and a given instance is only ever called from one thread at a time (the caller runs
each replica on its own worker thread), so implementations hold no locks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TaskModel(Protocol):
    """Answers the Inference Endpoints body of its task in the toolkit's reply shape."""

    task: str

    def __call__(self, body: Mapping[str, Any]) -> Any:
        """``body`` is the whole decoded JSON (``{"inputs": ..., "parameters": {...}}``); the reply is
        made of plain lists, dicts, strings, ints and floats."""
        ...


@runtime_checkable
class Ranker(TaskModel, Protocol):
    """A task model that also answers TEI's ``/rerank``; ``isinstance(model, Ranker)`` tells."""

    def rank(
        self, query: str, texts: Sequence[str], *, raw_scores: bool, return_text: bool, truncate: bool
    ) -> list[dict[str, Any]]:
        """``[{"index", "score"(, "text")}]`` sorted by score, descending. Without ``raw_scores`` a
        one-logit model's score goes through a sigmoid; with ``truncate`` off, an input longer than
        the model takes raises ``InputTooLong``."""
        ...
