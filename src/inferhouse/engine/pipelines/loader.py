"""Loading a model directory as the task model of one task; a custom handler always wins."""

from __future__ import annotations

from pathlib import Path

from inferhouse.engine.pipelines.base import TaskModel
from inferhouse.engine.pipelines.fit import check_fits
from inferhouse.engine.pipelines.handler import has_custom_handler, load_custom_handler
from inferhouse.engine.pipelines.question_answering import ExtractiveQuestionAnswering
from inferhouse.engine.pipelines.ranking import RANKING_TASKS, CrossEncoderRanker
from inferhouse.engine.pipelines.transformers_tasks import PIPELINE_MODELS, load_pipeline_model
from inferhouse.errors import ValidationFailed

PIPELINE_TASKS: frozenset[str] = RANKING_TASKS | PIPELINE_MODELS.keys() | {"question-answering"}


def load_task_model(
    path: Path, task: str, *, trust_remote_code: bool = False, device: str = "cpu"
) -> TaskModel:
    """The model at ``path`` answering ``task``'s bodies.

    A ``handler.py`` in the directory is used whatever the task. Otherwise the model must have the head
    the task needs (``TaskMismatch`` says which), and its files are read from disk only.
    ``trust_remote_code`` lets the directory's own Python code run in the loaders; it is off unless asked.
    """
    if has_custom_handler(path):
        return load_custom_handler(path, task)
    if task not in PIPELINE_TASKS:
        raise ValidationFailed(
            f"Task {task} is not one of the pipeline tasks ({', '.join(sorted(PIPELINE_TASKS))}) "
            "and the model has no handler.py"
        )
    check_fits(path, task)
    if task in RANKING_TASKS:
        return CrossEncoderRanker.load(path, task, trust_remote_code=trust_remote_code, device=device)
    if task == "question-answering":
        return ExtractiveQuestionAnswering.load(path, trust_remote_code=trust_remote_code, device=device)
    return load_pipeline_model(path, task, trust_remote_code=trust_remote_code, device=device)
