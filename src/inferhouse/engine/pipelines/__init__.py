"""Task models other than embeddings: cross-encoder ranking, transformers pipelines and custom handlers,
each answering the Inference Endpoints toolkit's request body in its reply shape."""

from inferhouse.engine.pipelines.base import Ranker, TaskModel
from inferhouse.engine.pipelines.loader import PIPELINE_TASKS, load_task_model

__all__ = ["PIPELINE_TASKS", "Ranker", "TaskModel", "load_task_model"]
