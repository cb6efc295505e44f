"""Serverless generation models: which directories they take, and the pool's loading semantics."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import EndpointConfig
from inferhouse.endpoints.deployment import Deployment
from inferhouse.endpoints.families import infer_task
from inferhouse.endpoints.serverless import ServerlessModels
from inferhouse.errors import BackendFailure, ModelLoading, ModelNotFound, TaskMismatch
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings


def _model_dir(root: Path, name: str, config: dict[str, object] | None, *extra: str) -> Path:
    path = root / name
    path.mkdir()
    if config is not None:
        (path / "config.json").write_text(json.dumps(config))
    for file in extra:
        (path / file).write_text("{}")
    return path


@pytest.mark.parametrize(
    ("config", "extra", "task"),
    [
        ({"architectures": ["GPT2LMHeadModel"]}, (), "text-generation"),
        ({"architectures": ["LlamaForCausalLM"]}, (), "text-generation"),
        (
            {"architectures": ["T5ForConditionalGeneration"], "is_encoder_decoder": True},
            (),
            "text2text-generation",
        ),
        ({"architectures": ["BertForSequenceClassification"]}, (), "text-classification"),
        ({"architectures": ["BertModel"]}, (), "feature-extraction"),
        (None, ("model_index.json",), "text-to-image"),
        ({"architectures": ["LlamaForCausalLM"]}, ("modules.json",), "sentence-embeddings"),
    ],
)
def test_infer_task(
    tmp_path: Path, config: dict[str, object] | None, extra: tuple[str, ...], task: str
) -> None:
    assert infer_task(_model_dir(tmp_path, "m", config, *extra)) == task


class Loader:
    """Loads a bare deployment once ``gate`` is set; fails for repositories named in ``failing``."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.gate.set()
        self.failing: set[str] = set()
        self.loaded: list[Deployment] = []

    def __call__(
        self, config: EndpointConfig, settings: Settings, metrics: Metrics, budget: MemoryBudget
    ) -> Deployment:
        self.gate.wait(10)
        if config.model.repository in self.failing:
            raise BackendFailure(f"Could not load {config.model.repository}")
        deployment = Deployment(config, Path("."))
        self.loaded.append(deployment)
        return deployment


@pytest.fixture
def models(tmp_path: Path) -> dict[str, Path]:
    return {
        "gen/a": _model_dir(tmp_path, "a", {"architectures": ["GPT2LMHeadModel"]}),
        "gen/b": _model_dir(tmp_path, "b", {"architectures": ["LlamaForCausalLM"]}),
        "emb/c": _model_dir(tmp_path, "c", {"architectures": ["BertModel"]}),
    }


def _serverless(models: dict[str, Path], loader: Loader, tmp_path: Path) -> ServerlessModels:
    settings = Settings(data_dir=tmp_path / "data", max_loaded_models=1)

    def resolve(model_id: str) -> Path:
        if model_id not in models:
            raise ModelNotFound(f"Model {model_id} not found")
        return models[model_id]

    return ServerlessModels(settings, Metrics(), MemoryBudget(None), resolve, loader=loader)


def test_every_model_has_a_serverless_task(models: dict[str, Path], tmp_path: Path) -> None:
    serverless = _serverless(models, Loader(), tmp_path)
    assert serverless.task_of("gen/a") == "text-generation"
    assert serverless.task_of("emb/c") == "feature-extraction"
    assert [serverless.family_of(model) for model in ("gen/a", "emb/c")] == ["generation", "embedding"]
    with pytest.raises(ModelNotFound):
        serverless.task_of("no/such")


async def test_a_model_of_another_family_is_refused_before_it_loads(
    models: dict[str, Path], tmp_path: Path
) -> None:
    loader = Loader()
    serverless = _serverless(models, loader, tmp_path)
    with pytest.raises(
        TaskMismatch,
        match="Model emb/c is a feature-extraction model; this call needs one of: text-generation",
    ):
        async with serverless.serving("emb/c", wait=True, family="generation"):
            pass
    assert loader.loaded == []
    await serverless.close()


async def test_first_call_is_loading_then_serves(models: dict[str, Path], tmp_path: Path) -> None:
    loader = Loader()
    loader.gate.clear()
    serverless = _serverless(models, loader, tmp_path)
    with pytest.raises(ModelLoading) as caught:
        async with serverless.serving("gen/a", wait=False):
            pass
    assert caught.value.estimated_time > 0
    loader.gate.set()
    async with serverless.serving("gen/a", wait=True) as deployment:
        assert deployment.in_flight == 1
        assert deployment.task == "text-generation"
    assert deployment.in_flight == 0
    assert len(loader.loaded) == 1  # the waiting call joined the load the first one started
    await serverless.close()


async def test_least_recently_used_is_retired_after_its_requests(
    models: dict[str, Path], tmp_path: Path
) -> None:
    serverless = _serverless(models, Loader(), tmp_path)
    async with serverless.serving("gen/a", wait=True) as first, serverless.serving("gen/b", wait=True):
        assert serverless.loaded() != [first]
        assert first.retired
        assert not first._closed  # still serving the outer request
    await asyncio.sleep(0)
    assert first._closed
    await serverless.close()


async def test_a_failed_load_is_reported_once(models: dict[str, Path], tmp_path: Path) -> None:
    loader = Loader()
    loader.failing.add("gen/a")
    serverless = _serverless(models, loader, tmp_path)
    with pytest.raises(BackendFailure):
        async with serverless.serving("gen/a", wait=True):
            pass
    loader.failing.clear()
    async with serverless.serving("gen/a", wait=True) as deployment:
        assert deployment.config.name == "gen/a"
    await serverless.close()
