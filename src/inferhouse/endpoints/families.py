"""Task families: which tasks a kind of model answers, how its replicas load, and what it can do.

Every task belongs to one family in :data:`FAMILIES`. A family's loader turns a resolved model
directory into a :class:`~inferhouse.endpoints.served.Served`, which offers the family's operations
(embed, similarity, rank, predict, generate); a deployment refuses the others with one
:class:`~inferhouse.errors.TaskMismatch`. Adding a task to a family is one entry here; adding a kind
of model is a loader, a ``Served`` and one :class:`TaskFamily`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TypeVar

from inferhouse.endpoints.config import EndpointConfig
from inferhouse.endpoints.model_env import model_env
from inferhouse.endpoints.served import Embedding, Generation, Pipeline, Served
from inferhouse.engine.backends.base import EmbeddingBackend
from inferhouse.engine.backends.choose import load_embedding_backend
from inferhouse.engine.embedder import batching_options, build_embedder, embedder_over
from inferhouse.engine.generation import load_text_generator
from inferhouse.engine.generation.contract import TextGenerator
from inferhouse.engine.images.loading import load_text_to_image
from inferhouse.engine.pipelines.base import Ranker, TaskModel
from inferhouse.engine.pipelines.loader import PIPELINE_TASKS, load_task_model
from inferhouse.engine.replicas import start_threads
from inferhouse.errors import ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

M = TypeVar("M")

EMBEDDING_TASKS = frozenset({"sentence-embeddings", "feature-extraction", "sentence-similarity"})
GENERATION_TASKS = frozenset({"text-generation", "text2text-generation"})
IMAGE_TASKS = frozenset({"text-to-image"})
# A model directory with a handler.py: its EndpointHandler answers whatever task it was made for.
CUSTOM_TASK = "custom"

# What a model's head says about the task it was trained for, when the endpoint names none.
_TASK_BY_HEAD = {
    "ForSequenceClassification": "text-classification",
    "ForTokenClassification": "token-classification",
    "ForMaskedLM": "fill-mask",
    "ForQuestionAnswering": "question-answering",
}


@dataclass(frozen=True)
class LoadRequest:
    """What a family's loader needs: the endpoint, its resolved model and where it runs."""

    config: EndpointConfig
    path: Path
    task: str
    settings: Settings
    metrics: Metrics
    device: str | None  # None: a GPU when the machine has one (serverless models), else the CPU
    max_queue_seconds: float | None  # the endpoint's own admission bound, None for the server's

    @property
    def replicas(self) -> int:
        return self.config.compute.replicas


@dataclass(frozen=True)
class TaskFamily:
    name: str
    tasks: frozenset[str]
    load: Callable[[LoadRequest], Served]
    # The family batches concurrent requests inside one copy; a second copy would only split them.
    single_copy: bool = False

    def copies(self, asked: int) -> int:
        return 1 if self.single_copy else asked


def _load_embedding(request: LoadRequest) -> Served:
    # What the copies are built from, named one by one: a Ray replica gets ``build`` by value.
    model, path, settings, device = request.config.model, request.path, request.settings, request.device

    def build() -> EmbeddingBackend:
        return load_embedding_backend(
            path,
            settings,
            device=device,
            backend=model.backend,
            precision=model.precision,
            trust_remote_code=model.trust_remote_code,
        )

    copy = _in_model_env(request, build)
    name, settings = request.config.name, request.settings
    if settings.runtime == "ray":
        from inferhouse.endpoints.on_ray import start_on_ray

        batching = batching_options(settings, request.max_queue_seconds) | {"name": name}
        runtime = start_on_ray(request.config, settings, copy, request.replicas, batching=batching)
        return Embedding(embedder_over(name, runtime.facts(), runtime, settings, request.metrics))
    copies = [copy() for _ in range(request.replicas)]
    return Embedding(
        build_embedder(name, copies, settings, request.metrics, request.max_queue_seconds, build=copy)
    )


def _load_generation(request: LoadRequest) -> Served:
    # What the copy is built from, named one by one: a Ray replica gets ``build`` by value.
    path, task, name, device = request.path, request.task, request.config.name, _device(request)
    env, trust_remote_code = dict(request.config.model.env), request.config.model.trust_remote_code

    def build() -> TextGenerator:
        return load_text_generator(
            path, task, name=name, env=env, device=device, trust_remote_code=trust_remote_code
        )

    if request.settings.runtime == "ray":
        from inferhouse.endpoints.on_ray import start_generation_on_ray

        return Generation(start_generation_on_ray(request.config, request.settings, build, path))
    return Generation(build())


def _load_image(request: LoadRequest) -> Served:
    model, path, device = request.config.model, request.path, _device(request)
    precision = model.precision or request.settings.precision

    def build() -> TaskModel:
        return load_text_to_image(
            path, device=device, precision=precision, env=model.env, trust_remote_code=model.trust_remote_code
        )

    return _pipeline(request, build)


def _load_pipeline(request: LoadRequest) -> Served:
    model, path, task, device = request.config.model, request.path, request.task, _device(request)

    def build() -> TaskModel:
        return load_task_model(path, task, trust_remote_code=model.trust_remote_code, device=device)

    return _pipeline(request, build)


def _pipeline(request: LoadRequest, build: Callable[[], TaskModel]) -> Pipeline:
    """Replicas called one body at a time: threads of this process, or a Ray Serve deployment."""
    copy = _in_model_env(request, build)
    settings = request.settings
    if settings.runtime == "ray":
        from inferhouse.endpoints.on_ray import start_on_ray

        remote = start_on_ray(request.config, settings, copy, request.replicas)
        return Pipeline(remote, ranks=remote.answers(_is_ranker))
    name = request.config.name
    local = start_threads(
        copy,
        request.replicas,
        max_queued=settings.max_queued_inputs,
        name=name,
        on_work=partial(request.metrics.observe_replica, name),
    )
    return Pipeline(local, ranks=isinstance(local.models[0], Ranker))


def _is_ranker(model: TaskModel) -> bool:
    return isinstance(model, Ranker)


def _in_model_env(request: LoadRequest, build: Callable[[], M]) -> Callable[[], M]:
    """``build`` applying the endpoint's ``model.env``: a copy added when the runtime scales up loads
    as the first ones did."""

    env, path = request.config.model.env, request.path

    def build_in_env() -> M:
        with model_env(env, path):
            return build()

    return build_in_env


def _device(request: LoadRequest) -> str:
    """The torch device for engines that need one named (embedding backends choose for themselves)."""
    if request.device is not None:
        return request.device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


FAMILIES: dict[str, TaskFamily] = {
    family.name: family
    for family in (
        TaskFamily("embedding", EMBEDDING_TASKS, _load_embedding),
        TaskFamily("generation", GENERATION_TASKS, _load_generation, single_copy=True),
        TaskFamily("image", IMAGE_TASKS, _load_image),
        TaskFamily("pipeline", PIPELINE_TASKS, _load_pipeline),
        # A handler.py answers in place of the family its task names.
        TaskFamily("custom", frozenset({CUSTOM_TASK}), _load_pipeline),
    )
}
SUPPORTED_TASKS = frozenset().union(*(family.tasks for family in FAMILIES.values()))


def family_of(task: str, *, custom: bool = False) -> TaskFamily:
    """The family serving ``task``; ``custom`` (a handler.py in the model) wins over the task's own."""
    if custom:
        return FAMILIES["custom"]
    for family in FAMILIES.values():
        if task in family.tasks:
            return family
    supported = ", ".join(sorted(SUPPORTED_TASKS))
    raise ValidationFailed(f"Task {task} is not supported; use one of: {supported}")


def check_task(task: str | None) -> None:
    """Refuse, before anything is stored, a task no deployment could serve."""
    if task is not None:
        family_of(task)


# Serverless ids answer with the families the Inference API runs them as; any other encoder embeds.
SERVERLESS_FAMILIES = frozenset({"embedding", "generation", "image"})


def serverless_task(path: Path) -> str:
    """The task a serverless model loads as: its own when it generates text or images, else features."""
    task = infer_task(path)
    return task if family_of(task).name in SERVERLESS_FAMILIES else "feature-extraction"


def infer_task(path: Path) -> str:
    """The task a model directory was made for, as the Hub's pipeline tag would say."""
    if (path / "modules.json").is_file():
        return "sentence-embeddings"
    if (path / "model_index.json").is_file():  # a diffusers pipeline
        return "text-to-image"
    try:
        config = json.loads((path / "config.json").read_text())
    except (OSError, ValueError):
        return "feature-extraction"
    for architecture in config.get("architectures") or []:
        for head, task in _TASK_BY_HEAD.items():
            if str(architecture).endswith(head):
                return task
        if str(architecture).endswith(("ForCausalLM", "LMHeadModel")):  # GPT-2 and its kin: LMHeadModel
            return "text-generation"
        if str(architecture).endswith("ForConditionalGeneration") and config.get("is_encoder_decoder"):
            return "text2text-generation"
    return "feature-extraction"
