"""A deployment: one endpoint's model loaded as replicas, offering its task family's operations."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from inferhouse.endpoints.budget import MEMORY_OVERHEAD, MemoryBudget, weights_bytes
from inferhouse.endpoints.config import EndpointConfig
from inferhouse.endpoints.families import CUSTOM_TASK, LoadRequest, TaskFamily, family_of, infer_task
from inferhouse.endpoints.model_env import model_env
from inferhouse.endpoints.served import Served, Unsupported
from inferhouse.engine.backends.base import ModelFacts
from inferhouse.engine.embedder import Embeddings, EmbedOptions
from inferhouse.engine.generation import TextGenerator
from inferhouse.engine.sources import resolve_model
from inferhouse.errors import BackendFailure, InferhouseError, OutOfMemory, TaskMismatch, ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
ACCELERATORS = ("cpu", "gpu")
QUEUE_SECONDS_ENV = "INFERHOUSE_MAX_QUEUE_SECONDS"


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


@dataclass(eq=False)
class Deployment:
    """One loaded generation of an endpoint (or of a serverless model), offering the operations of its
    task family; any other operation is refused with one :class:`TaskMismatch`. Requests hold it
    while they run; a retired deployment (replaced by an update, or unloaded) closes once the last of
    them has left."""

    config: EndpointConfig
    path: Path
    served: Served = field(default_factory=Served)
    family: str = "none"  # the name of its entry in families.FAMILIES
    budget: MemoryBudget | None = None
    serverless: bool = False  # a model loaded by id for the Inference API, not a dedicated endpoint
    copy_bytes: int = 0  # memory one copy is counted for in the budget (copies the autoscaler adds too)
    in_flight: int = 0
    retired: bool = False
    _closed: bool = field(default=False, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def task(self) -> str:
        return self.config.model.task or "feature-extraction"

    @property
    def replicas(self) -> int:
        return self.served.replicas

    @property
    def embeds(self) -> bool:
        return self.served.embeds

    @property
    def ranks(self) -> bool:
        return self.served.ranks

    def queued(self) -> int:
        return self.served.queued()

    # -- the task family's operations -----------------------------------------------------------------

    async def embed(self, texts: Sequence[str], options: EmbedOptions) -> Embeddings:
        with self._refusing():
            return await self.served.embed(texts, options)

    async def similarity(self, source: str, sentences: list[str], options: EmbedOptions) -> list[float]:
        with self._refusing():
            return await self.served.similarity(source, sentences, options)

    async def rank(
        self, query: str, texts: Sequence[str], *, raw_scores: bool, return_text: bool, truncate: bool
    ) -> list[dict[str, Any]]:
        with self._refusing():
            return await self.served.rank(
                query, texts, raw_scores=raw_scores, return_text=return_text, truncate=truncate
            )

    async def predict(self, body: Mapping[str, Any], shape: Callable[[Any], T] | None = None) -> Any:
        """The model's reply to a toolkit-shaped ``body``; ``shape`` runs on the replica too."""
        with self._refusing():
            return await self.served.predict(body, shape)

    def text_generator(self) -> TextGenerator:
        with self._refusing():
            return self.served.text_generator()

    def embedding_facts(self) -> ModelFacts:
        with self._refusing():
            return self.served.embedding_facts()

    @contextmanager
    def _refusing(self) -> Iterator[None]:
        try:
            yield
        except Unsupported as refused:
            noun = "Model" if self.serverless else "Endpoint"
            raise TaskMismatch(
                f"{noun} {self.name} serves task {self.task}; {refused.operation} needs {refused.needs}"
            ) from None

    # -- lifetime -------------------------------------------------------------------------------------

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
        self.served.close()
        if self.budget is not None:
            self.budget.release(self)


def retire_loaded(future: asyncio.Future[Deployment]) -> None:
    """Retire what a load whose waiter went away loaded (a done callback)."""
    if not future.cancelled() and future.exception() is None:
        future.result().retire()


def load_deployment(
    config: EndpointConfig,
    settings: Settings,
    metrics: Metrics,
    budget: MemoryBudget,
    *,
    serverless: bool = False,
) -> Deployment:
    """Resolve, check and load ``config``'s model as its replicas (blocking; run it in a thread).

    A dedicated endpoint runs on its ``accelerator``; a ``serverless`` model on a GPU when the machine
    has one and ignores a ``handler.py``. Every failure raises an :class:`InferhouseError` whose
    message says what to change.
    """
    model = config.model
    device = None if serverless else check_accelerator(config.compute.accelerator)
    path = resolve_model(model.repository, settings.models, revision=model.revision, allow_paths=True)
    custom = not serverless and (path / "handler.py").is_file()
    task = model.task or model.env.get("HF_TASK") or (CUSTOM_TASK if custom else infer_task(path))
    if task == CUSTOM_TASK and not custom:
        raise TaskMismatch(f"Task custom needs a handler.py defining EndpointHandler in {model.repository}")
    family = family_of(task, custom=custom)
    deployment = Deployment(
        config.with_task(task), path, family=family.name, budget=budget, serverless=serverless
    )
    copies = family.copies(config.compute.replicas)
    deployment.copy_bytes = int(weights_bytes(path) * MEMORY_OVERHEAD)
    budget.reserve(deployment, deployment.copy_bytes * copies, copies)
    try:
        deployment.served = _load(
            family,
            LoadRequest(
                config=deployment.config,
                path=path,
                task=task,
                settings=settings,
                metrics=metrics,
                device=device,
                # Only embedding queues take the bound; a bad value fails before the load.
                max_queue_seconds=queue_seconds(model.env) if family.name == "embedding" else None,
            ),
        )
    except BaseException:
        budget.release(deployment)
        raise
    return deployment


def _load(family: TaskFamily, request: LoadRequest) -> Served:
    replicas = request.replicas
    try:
        with model_env(request.config.model.env, request.path):
            return family.load(request)
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


def _oom_message(replicas: int) -> str:
    return (
        f"Out of memory while loading {replicas} replica(s) of this model; lower minReplica or maxReplica, "
        "pause another endpoint or choose a smaller model"
    )


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:500]
