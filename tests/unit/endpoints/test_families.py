"""The task-family registry, and a deployment refusing what its family does not do with one error."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import EndpointConfig, ModelConfig
from inferhouse.endpoints.deployment import Deployment, load_deployment
from inferhouse.endpoints.families import FAMILIES, SUPPORTED_TASKS, check_task, family_of
from inferhouse.endpoints.served import Pipeline
from inferhouse.engine.embedder import EmbedOptions
from inferhouse.engine.replicas import ReplicaRunner
from inferhouse.errors import TaskMismatch, ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from tests.support.models import build_tiny_cross_encoder


def test_every_task_belongs_to_exactly_one_family() -> None:
    owners: dict[str, list[str]] = {}
    for family in FAMILIES.values():
        for task in family.tasks:
            owners.setdefault(task, []).append(family.name)
    assert {task for task, names in owners.items() if len(names) > 1} == set()
    assert set(owners) == SUPPORTED_TASKS
    assert family_of("feature-extraction").name == "embedding"
    assert family_of("text2text-generation").name == "generation"
    assert family_of("text-to-image").name == "image"
    assert family_of("fill-mask").name == "pipeline"
    assert family_of("sentence-ranking").name == "pipeline"
    assert family_of("sentence-embeddings", custom=True).name == "custom"


def test_generation_loads_one_copy_whatever_is_asked() -> None:
    assert FAMILIES["generation"].copies(4) == 1
    assert FAMILIES["embedding"].copies(4) == 4


def test_an_unknown_task_is_refused_with_the_choices() -> None:
    with pytest.raises(ValidationFailed, match=r"Task summarization is not supported; use one of: .*custom"):
        check_task("summarization")
    check_task(None)
    check_task("custom")


class Echo:
    def __call__(self, body: Any) -> Any:
        return {"echo": body["inputs"]}


def _pipeline(name: str = "echo", *, serverless: bool = False) -> Deployment:
    runner: ReplicaRunner[Any] = ReplicaRunner([Echo()], max_queued=4, name=name)
    config = EndpointConfig(name, ModelConfig("org/echo", task="text-classification"))
    return Deployment(
        config, Path("."), Pipeline(runner, ranks=False), family="pipeline", serverless=serverless
    )


async def test_a_deployment_offers_its_familys_operations_and_refuses_the_rest() -> None:
    deployment = _pipeline()
    try:
        assert await deployment.predict({"inputs": "hi"}) == {"echo": "hi"}
        assert await deployment.predict({"inputs": "hi"}, shape=lambda reply: reply["echo"]) == "hi"
        assert (deployment.family, deployment.replicas, deployment.embeds, deployment.ranks) == (
            "pipeline",
            1,
            False,
            False,
        )
        with pytest.raises(
            TaskMismatch, match=r"^Endpoint echo serves task text-classification; embeddings needs"
        ):
            await deployment.embed(["x"], EmbedOptions())
        with pytest.raises(TaskMismatch, match="sentence similarity needs an embedding task"):
            await deployment.similarity("a", ["b"], EmbedOptions())
        with pytest.raises(TaskMismatch, match="ranking needs a sentence-ranking endpoint"):
            await deployment.rank("q", ["t"], raw_scores=False, return_text=False, truncate=True)
        with pytest.raises(TaskMismatch, match="text generation needs a text-generation"):
            deployment.text_generator()
        with pytest.raises(TaskMismatch):
            deployment.embedding_facts()
    finally:
        deployment.close()


async def test_a_serverless_deployment_names_itself_a_model() -> None:
    deployment = _pipeline("org/echo", serverless=True)
    try:
        with pytest.raises(TaskMismatch, match=r"^Model org/echo serves task"):
            deployment.text_generator()
    finally:
        deployment.close()


async def test_an_empty_deployment_refuses_every_operation() -> None:
    deployment = Deployment(EndpointConfig("none", ModelConfig("org/none", task="custom")), Path("."))
    with pytest.raises(TaskMismatch, match="this request needs a pipeline"):
        await deployment.predict({"inputs": "x"})
    assert deployment.replicas == 0


def _settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", backend="torch")


async def test_an_embedding_deployment_scales_its_runtime_with_copies_like_the_first(
    tmp_path: Path, tiny_model_dir: Path
) -> None:
    config = EndpointConfig(
        "scaled", ModelConfig(str(tiny_model_dir), task="feature-extraction", env={"SCALED_MARK": "1"})
    )
    deployment = load_deployment(config, _settings(tmp_path), Metrics(), MemoryBudget(None))
    try:
        runtime = deployment.served.runtime()
        assert runtime is not None
        assert deployment.replicas == 1
        before = await deployment.embed(["a happy dog"], EmbedOptions())
        await asyncio.to_thread(runtime.scale, 2)
        assert deployment.replicas == runtime.health().replicas == 2
        assert "SCALED_MARK" not in os.environ  # the endpoint's env is applied only while a copy loads
        replies = await asyncio.gather(*(deployment.embed([f"text {n}"], EmbedOptions()) for n in range(8)))
        assert all(reply.vectors.shape == before.vectors.shape for reply in replies)
        await asyncio.to_thread(runtime.scale, 1)
        assert deployment.replicas == 1
        again = await deployment.embed(["a happy dog"], EmbedOptions(use_cache=False))
        assert np.allclose(again.vectors, before.vectors, atol=1e-6)
    finally:
        deployment.close()


async def test_a_pipeline_deployment_scales_and_still_ranks_at_zero(tmp_path: Path) -> None:
    model_dir = build_tiny_cross_encoder(tmp_path / "ranker")
    config = EndpointConfig("ranker", ModelConfig(str(model_dir), task="sentence-ranking"))
    deployment = load_deployment(config, _settings(tmp_path), Metrics(), MemoryBudget(None))
    try:
        runtime = deployment.served.runtime()
        assert runtime is not None
        await asyncio.to_thread(runtime.scale, 2)
        assert deployment.replicas == 2
        ranked = await deployment.rank("q", ["a", "b"], raw_scores=False, return_text=False, truncate=True)
        assert sorted(item["index"] for item in ranked) == [0, 1]
        await asyncio.to_thread(runtime.scale, 0)
        assert deployment.replicas == 0
        assert deployment.ranks
        await asyncio.to_thread(runtime.scale, 1)
        assert len(await deployment.rank("q", ["a"], raw_scores=False, return_text=False, truncate=True)) == 1
    finally:
        deployment.close()
