"""The resolver: which deployment serves a name, and whether the caller may use it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from inferhouse.auth import Principal
from inferhouse.endpoints.budget import MemoryBudget
from inferhouse.endpoints.config import EndpointConfig, ModelConfig
from inferhouse.endpoints.deployment import Deployment
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.served import Served
from inferhouse.endpoints.serverless import ServerlessModels
from inferhouse.endpoints.serving import Resolver
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.errors import Forbidden, TaskMismatch, Unauthorized
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from inferhouse.storage import Database


class Embeds(Served):
    @property
    def embeds(self) -> bool:
        return True


def _load(config: EndpointConfig, settings: Settings, metrics: Metrics, budget: MemoryBudget) -> Deployment:
    return Deployment(config.with_task(config.model.task or "feature-extraction"), Path("."), Embeds())


@pytest.fixture
async def resolver(tmp_path: Path) -> AsyncIterator[Resolver]:
    settings = Settings(data_dir=tmp_path, idle_check_seconds=3600)
    db = Database.in_data_dir(tmp_path)
    manager = EndpointManager(settings, SqliteEndpointStore(db), Metrics(), loader=_load)
    await manager.start()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}')
    serverless = ServerlessModels(settings, Metrics(), MemoryBudget(None), resolve=lambda _: model_dir)
    await manager.create(
        EndpointConfig("shared", ModelConfig("org/encoder", task="feature-extraction"), type="private")
    )
    await manager.wait_until_settled()
    yield Resolver(manager, serverless)
    await serverless.close()
    await manager.close()
    db.close()


async def test_a_model_id_shares_a_running_embedding_endpoint_of_that_model(resolver: Resolver) -> None:
    async with resolver.model("ORG/encoder", wait=False) as deployment:
        assert deployment.name == "shared"
        assert not deployment.serverless


async def test_a_model_of_another_family_is_not_the_shared_endpoint(resolver: Resolver) -> None:
    # The serverless copy of this id is a text generator: asked for embeddings, it is refused unloaded.
    with pytest.raises(
        TaskMismatch, match="is a text-generation model; this call needs one of: feature-extraction"
    ):
        async with resolver.model("org/generator", wait=False, family="embedding"):
            pass


async def test_a_name_is_an_endpoint_the_caller_may_use(resolver: Resolver) -> None:
    general = Principal("reader", "user", id="reader")
    with pytest.raises(Forbidden, match="may not call endpoint shared"):
        resolver.named("shared", general, wait=False)
    with pytest.raises(Unauthorized):
        resolver.named("shared", None, wait=False)
    granted = Principal("caller", "user", endpoints=frozenset({"shared"}), id="caller")
    async with resolver.named("shared", granted, wait=False) as deployment:
        assert deployment.name == "shared"


async def test_a_token_scoped_to_endpoints_may_not_load_models_by_id(resolver: Resolver) -> None:
    scoped = Principal("caller", "user", endpoints=frozenset({"shared"}), id="caller")
    with pytest.raises(Forbidden, match="scoped to the endpoint"):
        resolver.named("org/generator", scoped, wait=None)
