"""Does a model directory fit a task? Read from its ``config.json`` before any weights are loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferhouse.errors import BackendFailure, TaskMismatch


@dataclass(frozen=True, slots=True)
class Head:
    """The head a task needs: architectures ending in ``suffix``, named ``name`` in messages."""

    suffix: str
    name: str


SEQUENCE_CLASSIFICATION = Head("ForSequenceClassification", "sequence-classification")

TASK_HEADS: dict[str, Head] = {
    "sentence-ranking": SEQUENCE_CLASSIFICATION,
    "text-ranking": SEQUENCE_CLASSIFICATION,
    "text-classification": SEQUENCE_CLASSIFICATION,
    "zero-shot-classification": SEQUENCE_CLASSIFICATION,
    "token-classification": Head("ForTokenClassification", "token-classification"),
    "fill-mask": Head("ForMaskedLM", "masked-language-model"),
    "question-answering": Head("ForQuestionAnswering", "question-answering"),
}


def model_label(path: Path) -> str:
    """How messages name the model: its repo id when it sits in the Hub cache, else its path."""
    repo = path.parent.parent.name
    if path.parent.name == "snapshots" and repo.startswith("models--"):
        return repo.removeprefix("models--").replace("--", "/")
    return str(path)


def read_config(path: Path) -> dict[str, Any]:
    try:
        config = json.loads((path / "config.json").read_text())
    except FileNotFoundError as exc:
        raise BackendFailure(f"Model at {model_label(path)} has no config.json") from exc
    except (OSError, ValueError) as exc:
        raise BackendFailure(f"Model at {model_label(path)} has an unreadable config.json: {exc}") from exc
    if not isinstance(config, dict):
        raise BackendFailure(f"Model at {model_label(path)} has a config.json that is not an object")
    return config


def check_fits(path: Path, task: str) -> None:
    """Raise ``TaskMismatch`` unless the model has the head ``task`` needs (and, for zero-shot, an
    entailment label)."""
    config = read_config(path)
    head = TASK_HEADS[task]
    label = model_label(path)
    architectures = config.get("architectures") or []
    if not architectures:
        raise TaskMismatch(
            f"Model at {label} names no architectures in its config.json, so it is unknown whether it has "
            f"a {head.name} head: task {task} needs one (…{head.suffix})"
        )
    if not any(str(name).endswith(head.suffix) for name in architectures):
        names = ", ".join(str(name) for name in architectures)
        raise TaskMismatch(
            f"Model at {label} has architecture {names}, which has no {head.name} head: "
            f"task {task} needs one (…{head.suffix})"
        )
    if task == "zero-shot-classification":
        _check_entailment(config, label)


def _check_entailment(config: dict[str, Any], label: str) -> None:
    labels = [str(name) for name in (config.get("id2label") or {}).values()]
    # The transformers pipeline picks the first label starting with "entail"; without one it would
    # silently score with label 0.
    if not any(name.lower().startswith("entail") for name in labels):
        raise TaskMismatch(
            f"Model at {label} has labels {', '.join(labels) or 'none'}, none of them entailment: "
            "task zero-shot-classification needs an NLI model with an entailment label"
        )
