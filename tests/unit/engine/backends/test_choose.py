"""One loader for endpoints and serverless models: the backend and precision choices, and their errors."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import EndpointConfig, ModelConfig
from inferhouse.endpoints.deployment import load_deployment
from inferhouse.endpoints.serverless import ServerlessModels
from inferhouse.engine.backends.choose import load_embedding_backend
from inferhouse.engine.backends.onnx_st import OnnxBackend
from inferhouse.engine.backends.torch_st import SentenceTransformerBackend
from inferhouse.engine.embedder import EmbedOptions
from inferhouse.errors import ValidationFailed
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings

TINY_ID = "org/tiny"


def _settings(tmp_path: Path, tiny_model_dir: Path, **fields: object) -> Settings:
    return Settings(data_dir=tmp_path, models={TINY_ID: tiny_model_dir}, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("backend", "served"), [("onnx", OnnxBackend), ("torch", SentenceTransformerBackend)]
)
async def test_serverless_models_load_with_the_servers_backend_choice(
    tmp_path: Path, tiny_model_dir: Path, backend: str, served: type
) -> None:
    serverless = ServerlessModels(
        _settings(tmp_path, tiny_model_dir, backend=backend), Metrics(), MemoryBudget(None)
    )
    try:
        async with serverless.serving(TINY_ID, wait=True) as deployment:
            assert isinstance(deployment.embedding_facts(), served)
            embedded = await deployment.embed(["a happy dog", "x"], EmbedOptions())
        assert embedded.vectors.shape == (2, 32)
    finally:
        await serverless.close()
    assert bool(list(tmp_path.rglob("*.onnx"))) == (backend == "onnx")


def test_an_unknown_precision_fails_with_the_choices(tmp_path: Path, tiny_model_dir: Path) -> None:
    settings = _settings(tmp_path, tiny_model_dir)
    with pytest.raises(ValidationFailed) as refused:
        load_embedding_backend(tiny_model_dir, settings, precision="fp8")
    assert refused.value.message == "precision must be one of auto, float32, float16, bfloat16, got 'fp8'"
    with pytest.raises(ValidationFailed, match="backend must be one of auto, torch, onnx, onnx-int8"):
        load_embedding_backend(tiny_model_dir, settings, backend="tensorrt")
    with pytest.raises(ValidationError, match="'auto', 'float32', 'float16' or 'bfloat16'"):
        Settings(data_dir=tmp_path, precision="fp8")  # type: ignore[arg-type]


def test_an_endpoint_asks_for_its_precision_in_its_env(tmp_path: Path, tiny_model_dir: Path) -> None:
    settings = _settings(tmp_path, tiny_model_dir, backend="torch")

    def deploy(precision: str) -> EndpointConfig:
        env = {"INFERHOUSE_PRECISION": precision}
        return EndpointConfig("p", ModelConfig(str(tiny_model_dir), task="sentence-embeddings", env=env))

    with pytest.raises(ValidationFailed, match="precision must be one of auto, float32, float16, bfloat16"):
        load_deployment(deploy("fp8"), settings, Metrics(), MemoryBudget(None))
    deployment = load_deployment(deploy(" BFloat16 "), settings, Metrics(), MemoryBudget(None))
    try:
        assert deployment.embedding_facts().dtype == "bfloat16"
    finally:
        deployment.close()


def test_a_reduced_precision_is_served_by_torch_on_the_cpu(
    tmp_path: Path, tiny_model_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, tiny_model_dir, backend="onnx", precision="float16")
    with caplog.at_level(logging.INFO, logger="inferhouse.engine.backends.choose"):
        backend = load_embedding_backend(tiny_model_dir, settings)
    assert isinstance(backend, SentenceTransformerBackend)
    assert backend.dtype == "float16"
    assert "backend torch: ONNX is not used because precision float16 was asked for" in caplog.text
    assert not list(tmp_path.rglob("*.onnx"))
