"""A deployment: one endpoint's model loaded as replicas, and the checks made before loading it."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from inferhouse.endpoints.config import (
    CUSTOM_TASK,
    EMBEDDING_TASKS,
    GENERATION_TASKS,
    IMAGE_TASKS,
    EndpointConfig,
)
from inferhouse.engine.backends.choose import load_embedding_backend
from inferhouse.engine.embedder import Embedder, build_embedder
from inferhouse.engine.generation import TextGenerator, load_text_generator
from inferhouse.engine.images.loading import load_text_to_image
from inferhouse.engine.pipelines.base import TaskModel
from inferhouse.engine.pipelines.loader import PIPELINE_TASKS, load_task_model
from inferhouse.engine.replicas import ReplicaRunner
from inferhouse.engine.sources import resolve_model
from inferhouse.errors import BackendFailure, InferhouseError, OutOfMemory, TaskMismatch, ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

SUPPORTED_TASKS = EMBEDDING_TASKS | PIPELINE_TASKS | GENERATION_TASKS | IMAGE_TASKS
ACCELERATORS = ("cpu", "gpu")
# Loaded weights take a little more than their files (buffers, the first forward pass's activations).
_MEMORY_OVERHEAD = 1.25
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")
_SKIPPED_WEIGHT_DIRS = {"onnx", "openvino"}
QUEUE_SECONDS_ENV = "INFERHOUSE_MAX_QUEUE_SECONDS"

# The process environment is shared, so endpoints load one at a time while their env is applied.
_ENV_LOCK = threading.Lock()

# What a model's head says about the task it was trained for, when the endpoint names none.
_TASK_BY_HEAD = {
    "ForSequenceClassification": "text-classification",
    "ForTokenClassification": "token-classification",
    "ForMaskedLM": "fill-mask",
    "ForQuestionAnswering": "question-answering",
}


def check_task(task: str | None) -> None:
    """Refuse, before anything is stored, a task no deployment could serve."""
    if task is not None and task not in SUPPORTED_TASKS and task != CUSTOM_TASK:
        supported = ", ".join(sorted(SUPPORTED_TASKS))
        raise ValidationFailed(f"Task {task} is not supported; use one of: {supported}")


def check_accelerator(accelerator: str) -> str:
    """The torch device for ``accelerator``; a GPU asked of a machine without one is refused."""
    if accelerator == "cpu":
        return "cpu"
    if accelerator == "gpu":
        import torch

        if not torch.cuda.is_available():
            raise BackendFailure(
                "accelerator gpu was requested but this machine has no usable CUDA GPU "
                "(torch.cuda.is_available() is false); update the endpoint to accelerator cpu"
            )
        return "cuda"
    raise ValidationFailed(f"accelerator must be one of {', '.join(ACCELERATORS)}, got {accelerator!r}")


def weights_bytes(path: Path) -> int:
    """Bytes of weight files under ``path`` (the first format found, so a model shipping both
    safetensors and bin files is not counted twice)."""
    for suffix in _WEIGHT_SUFFIXES:
        files = [
            file
            for file in path.rglob(f"*{suffix}")
            if file.is_file() and not _SKIPPED_WEIGHT_DIRS & set(file.relative_to(path).parts)
        ]
        if files:
            return sum(file.stat().st_size for file in files)
    return 0


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from /proc/meminfo, or None where there is no such file."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


class MemoryBudget:
    """Refuses a deployment that would not fit: within ``limit`` bytes for all endpoints when one is
    configured, else within the memory the machine has available now."""

    def __init__(self, limit: int | None) -> None:
        self._limit = limit
        self._reserved: dict[object, int] = {}
        self._lock = threading.Lock()

    def reserve(self, owner: object, needed: int, replicas: int) -> None:
        with self._lock:
            if self._limit is not None:
                available = self._limit - sum(self._reserved.values())
                where = "of the endpoint memory budget (INFERHOUSE_ENDPOINT_MEMORY_BYTES)"
            else:
                free = available_memory_bytes()
                if free is None:
                    return
                available = free
                where = "of memory available on this machine"
            if needed > available:
                raise OutOfMemory(
                    f"Out of memory: {replicas} replica(s) of this model need about {_gib(needed)} but only "
                    f"{_gib(max(available, 0))} {where} is left; lower maxReplica, pause another "
                    "endpoint or choose a smaller model"
                )
            self._reserved[owner] = needed

    def release(self, owner: object) -> None:
        with self._lock:
            self._reserved.pop(owner, None)


def _gib(size: int) -> str:
    return f"{size / 2**30:.2f} GiB"


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


@contextmanager
def model_env(env: Mapping[str, str], path: Path) -> Iterator[None]:
    """Apply an endpoint's ``model.env`` (and the toolkit's ``HF_MODEL_DIR``) while its model loads."""
    values = {**env, "HF_MODEL_DIR": str(path)}
    with _ENV_LOCK:
        saved = {key: os.environ.get(key) for key in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@dataclass(eq=False)
class Deployment:
    """One loaded generation of an endpoint. Requests hold it while they run; a retired deployment
    (replaced by an update, or unloaded) closes once the last of them has left."""

    config: EndpointConfig
    path: Path
    embedder: Embedder | None = None
    generator: TextGenerator | None = None  # text-generation and text2text-generation
    runner: ReplicaRunner[TaskModel] | None = None
    budget: MemoryBudget | None = None
    in_flight: int = 0
    retired: bool = False
    _closed: bool = field(default=False, repr=False)

    @property
    def task(self) -> str:
        return self.config.model.task or "feature-extraction"

    @property
    def replicas(self) -> int:
        if self.generator is not None:
            return 1
        if self.embedder is not None:
            return self.embedder.batcher.replicas
        return self.runner.replicas if self.runner is not None else 0

    @property
    def ranker(self) -> bool:
        return self.runner is not None and callable(getattr(self.runner.models[0], "rank", None))

    def enter(self) -> None:
        self.in_flight += 1

    def leave(self) -> None:
        self.in_flight -= 1
        if self.retired and self.in_flight == 0:
            self._close_in_background()

    def retire(self) -> None:
        self.retired = True
        if self.in_flight == 0:
            self._close_in_background()

    def _close_in_background(self) -> None:
        if self._closed:
            return
        self._closed = True
        threading.Thread(target=self.close, name=f"close-{self.config.name}", daemon=True).start()

    def close(self) -> None:
        if self.embedder is not None:
            self.embedder.close()
        if self.generator is not None:
            self.generator.close()
        if self.runner is not None:
            self.runner.close()
        if self.budget is not None:
            self.budget.release(self)


def load_deployment(
    config: EndpointConfig, settings: Settings, metrics: Metrics, budget: MemoryBudget
) -> Deployment:
    """Resolve, check and load ``config``'s model as its replicas (blocking; run it in a thread).

    Every failure raises an :class:`InferhouseError` whose message says what to change.
    """
    model = config.model
    device = check_accelerator(config.compute.accelerator)
    path = resolve_model(model.repository, settings.models, revision=model.revision, allow_paths=True)
    custom = (path / "handler.py").is_file()
    task = model.task or model.env.get("HF_TASK") or (CUSTOM_TASK if custom else infer_task(path))
    check_task(task)
    if task == CUSTOM_TASK and not custom:
        raise TaskMismatch(f"Task custom needs a handler.py defining EndpointHandler in {model.repository}")
    deployment = Deployment(config.with_task(task), path, budget=budget)
    replicas = generation_replicas(task, config.compute.replicas)
    budget.reserve(deployment, int(weights_bytes(path) * replicas * _MEMORY_OVERHEAD), replicas)
    try:
        _load_replicas(deployment, settings, metrics, device)
    except BaseException:
        budget.release(deployment)
        raise
    return deployment


def queue_seconds(env: Mapping[str, str]) -> float | None:
    """The endpoint's own ``INFERHOUSE_MAX_QUEUE_SECONDS`` (its ``model.env``), or None for the server's."""
    raw = env.get(QUEUE_SECONDS_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0 <= value < math.inf:
        raise ValidationFailed(
            f"{QUEUE_SECONDS_ENV} must be a number of seconds, at least 0 (0: no limit), got {raw!r}"
        )
    return value


def generation_replicas(task: str, asked: int) -> int:
    """Copies of the model to load: one for text generation, whose generator batches concurrent
    requests into shared decoding steps (a second copy would split them); ``asked`` otherwise."""
    return 1 if task in GENERATION_TASKS else asked


def _load_replicas(deployment: Deployment, settings: Settings, metrics: Metrics, device: str) -> None:
    config = deployment.config
    model, task, path = config.model, deployment.task, deployment.path
    custom = (path / "handler.py").is_file()
    replicas = config.compute.replicas
    try:
        with model_env(model.env, path):
            if task in EMBEDDING_TASKS and not custom:
                max_queue_seconds = queue_seconds(model.env)  # a bad value fails before the load
                backends = [
                    load_embedding_backend(
                        path,
                        settings,
                        device=device,
                        backend=model.backend,
                        precision=model.precision,
                        trust_remote_code=model.trust_remote_code,
                    )
                    for _ in range(replicas)
                ]
                deployment.embedder = build_embedder(
                    config.name, list(backends), settings, metrics, max_queue_seconds
                )
                return
            if task in GENERATION_TASKS and not custom:
                # One generator per endpoint: it batches concurrent requests itself (generation_replicas).
                deployment.generator = load_text_generator(
                    path,
                    task,
                    name=config.name,
                    env=model.env,
                    device=device,
                    trust_remote_code=model.trust_remote_code,
                )
                return
            if task in IMAGE_TASKS and not custom:
                painters: list[TaskModel] = [
                    load_text_to_image(
                        path,
                        device=device,
                        precision=model.precision or settings.precision,
                        env=model.env,
                        trust_remote_code=model.trust_remote_code,
                    )
                    for _ in range(replicas)
                ]
                deployment.runner = ReplicaRunner(
                    painters, max_queued=settings.max_queued_inputs, name=config.name
                )
                return
            models = [
                load_task_model(path, task, trust_remote_code=model.trust_remote_code, device=device)
                for _ in range(replicas)
            ]
            deployment.runner = ReplicaRunner(models, max_queued=settings.max_queued_inputs, name=config.name)
    except InferhouseError:
        raise
    except MemoryError:
        raise OutOfMemory(_oom_message(replicas)) from None
    except RuntimeError as error:
        if "out of memory" in str(error).lower():
            raise OutOfMemory(_oom_message(replicas)) from None
        raise BackendFailure(f"Could not load the model: {_reason(error)}") from error
    except Exception as error:
        raise BackendFailure(f"Could not load the model: {_reason(error)}") from error


def _oom_message(replicas: int) -> str:
    return (
        f"Out of memory while loading {replicas} replica(s) of this model; lower maxReplica, pause "
        "another endpoint or choose a smaller model"
    )


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
