"""``create_app(settings)``: the FastAPI application with every dialect mounted."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import Future
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from inferhouse import ui
from inferhouse._version import __version__
from inferhouse.api import elasticsearch, generation, huggingface, operations, pinecone
from inferhouse.api.core import openapi
from inferhouse.api.core.dialect import allowed_methods, from_http_exception
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.services import Services
from inferhouse.auth import TokenStore
from inferhouse.endpoints.config import ComputeConfig, EndpointConfig, ModelConfig, ScalingMetric
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.serverless import ServerlessModels
from inferhouse.endpoints.serving import Resolver
from inferhouse.endpoints.shared import EndpointFollower
from inferhouse.inference.registry import InferenceRegistry
from inferhouse.inference.secrets import SecretBox
from inferhouse.inference.services.hugging_face import HuggingFaceService
from inferhouse.inference.services.local import LocalService
from inferhouse.integrated.binding import Models
from inferhouse.metrics import Metrics
from inferhouse.settings import BUNDLED_MODEL_ID, DEFAULT_ENDPOINT_NAME, Settings
from inferhouse.storage.private import secure_data_dir
from inferhouse.stores import backup_storage, index_storage, open_stores
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.backups import BackupService
from inferhouse.vectors.importer import Importer
from inferhouse.vectors.registry import IndexRegistry
from inferhouse.vectors.snapshots import IndexSnapshots

log = logging.getLogger("inferhouse")


class RequestMetrics:
    """Counts and times every request by its route template, not its raw path (bounded label values)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            label = getattr(route, "path", "unmatched")
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.perf_counter() - started)


def create_app(settings: Settings) -> FastAPI:
    metrics = Metrics()
    metrics.describe_server(
        runtime=settings.runtime,
        database=settings.database_kind,
        vector_store=settings.vector_store,
        version=__version__,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await asyncio.to_thread(secure_data_dir, settings.data_dir)
        stores = await asyncio.to_thread(open_stores, settings)
        tokens = TokenStore(stores.tokens, settings.admin_token)
        shared = stores.backend == "postgresql"  # other servers may share the endpoints
        endpoints = EndpointManager(settings, stores.endpoints, metrics, shared=shared)
        serverless = ServerlessModels(settings, metrics, endpoints.budget)
        serving = Resolver(endpoints, serverless)
        ann = AnnSettings(
            min_vectors=settings.ann_min_vectors,
            candidates=settings.ann_candidates,
            search_width=settings.ann_search_width,
            segment_vectors=settings.ann_segment_vectors,
        )
        storage = index_storage(settings, stores, ann)
        indexes = await asyncio.to_thread(IndexRegistry, stores.indexes, storage)
        backups = BackupService(indexes, *backup_storage(settings, stores))
        await asyncio.to_thread(backups.recover)  # what a crash left mid-backup or mid-restore
        remote = HuggingFaceService()
        inference = InferenceRegistry(
            stores.inference,
            SecretBox.from_settings(settings.secret_key, settings.data_dir),
            [remote, LocalService(serving)],
        )
        loop = asyncio.get_running_loop()
        # Another server on the same PostgreSQL created or deleted one: the registry follows at once.
        stores.watch("inference_configs", lambda: _soon(loop, inference.reload()))
        if storage.name == "pgvector":  # vectors shared too: another server's index is one of ours
            stores.watch("indexes", indexes.reload)
        models = Models(inference, serving)
        imports = await asyncio.to_thread(Importer, stores.import_jobs, indexes, shared=shared)
        snapshots = IndexSnapshots(storage.name, stores.postgres)
        app.state.services = Services(
            settings,
            tokens,
            metrics,
            serving,
            endpoints,
            indexes,
            inference,
            models,
            serverless,
            backups,
            imports,
            snapshots,
        )
        _announce_auth(settings, tokens)
        follower = EndpointFollower(endpoints, stores.endpoints, loop)
        if shared:  # listening before the rows are read: no change is missed in between
            stores.watch("endpoints", follower.changed)
        await endpoints.start(declared_endpoints(settings))
        if shared:
            follower.start()
        for record in endpoints:
            config = record.config
            log.info(
                "endpoint %s: %s (%s), %s",
                config.name,
                config.model.repository,
                config.model.task,
                record.status.state.value,
            )
        try:
            yield
        finally:
            follower.stop()
            await remote.aclose()
            await endpoints.close()
            await serverless.close()
            await asyncio.to_thread(imports.close)  # before the indexes it writes into close
            await asyncio.to_thread(backups.close)
            indexes.close()
            stores.close()

    app = FastAPI(
        title="inferhouse",
        version=__version__,
        summary="Hugging Face model serving and vector search, self-hosted.",
        lifespan=lifespan,
        # Served by api.operations.docs_ui from the package's own assets, so they render offline.
        docs_url=None,
        redoc_url=None,
        # We export Prometheus metrics ourselves; FastAPI's OpenTelemetry hooks would otherwise look up
        # the global providers (environment reads) on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Mounted in this order; where two paths could match, the first one mounted wins.
    routers = (
        operations.health_public_router,
        operations.health_router,
        operations.endpoints_admin_router,
        operations.tokens_admin_router,
        operations.index_stats_router,
        operations.index_export_router,
        operations.server_info_router,
        huggingface.hf_endpoint_router,
        huggingface.hf_router,
        huggingface.tei_openai_router,
        huggingface.tei_router,
        generation.tgi_router,
        huggingface.openai_embeddings_router,
        generation.openai_chat_router,
        elasticsearch.inference_router,
        pinecone.records_control_router,
        pinecone.records_default_namespace_router,
        pinecone.records_router,
        pinecone.control_router,
        pinecone.backups_router,
        pinecone.data_router,
        pinecone.namespaces_router,
        pinecone.imports_router,
    )
    for router in routers:
        app.include_router(router)

    @app.exception_handler(HTTPException)
    async def unrouted(request: Request, error: HTTPException) -> Response:
        reply = render_hf(from_http_exception(error))
        if error.status_code == 405:
            reply.headers["Allow"] = allowed_methods(app.router.routes, request.url.path)
        return reply

    openapi.install(app)
    operations.docs_ui.install(app)
    ui.install(app, settings)
    app.add_middleware(huggingface.EmbedFastLane)
    app.add_middleware(pinecone.QueryFastLane)
    app.add_middleware(RequestMetrics, metrics=metrics)
    return app


def declared_endpoints(settings: Settings) -> list[EndpointConfig]:
    """Endpoints the settings ask for: the bundled model's unless turned off, and INFERHOUSE_ENDPOINTS."""
    declared = []
    if settings.default_endpoint:
        model = ModelConfig(repository=BUNDLED_MODEL_ID, task="sentence-embeddings")
        declared.append(EndpointConfig(name=DEFAULT_ENDPOINT_NAME, model=model))
    for spec in settings.endpoints:
        env: dict[str, str] = {}
        if spec.backend:
            env["INFERHOUSE_BACKEND"] = spec.backend
        if spec.precision:
            env["INFERHOUSE_PRECISION"] = spec.precision
        model = ModelConfig(repository=spec.model, revision=spec.revision, task=spec.task, env=env)
        metric = spec.scaling_metric or ("pendingRequests" if spec.scaling_threshold is not None else None)
        compute = ComputeConfig(
            min_replica=spec.min_replica,
            max_replica=spec.max_replica,
            scale_to_zero_timeout=spec.scale_to_zero_timeout,
            accelerator=spec.accelerator,
            scaling_metric=None if metric is None else ScalingMetric(metric),
            scaling_threshold=spec.scaling_threshold,
        )
        declared.append(EndpointConfig(name=spec.name, model=model, compute=compute, type=spec.type))
    return declared


def _soon(loop: asyncio.AbstractEventLoop, work: Coroutine[Any, Any, None]) -> None:
    """Run ``work`` on the app's loop, from another thread; dropped once the loop has stopped."""
    if loop.is_closed():
        work.close()
        return
    asyncio.run_coroutine_threadsafe(work, loop).add_done_callback(_log_failure)


def _log_failure(done: Future[None]) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        log.error("reloading after another server's change failed", exc_info=error)


def _announce_auth(settings: Settings, tokens: TokenStore) -> None:
    if not settings.auth:
        log.warning(
            "authentication is OFF (INFERHOUSE_AUTH=false); allowed because %s is loopback", settings.host
        )
        return
    first = tokens.ensure_admin(settings.data_dir)
    if first is not None:
        log.warning(
            "generated an admin token (shown once): %s\n  it is saved in %s; send it as "
            "'Authorization: Bearer <token>'; make more with `inferhouse token create`",
            first.token,
            first.saved_to,
        )
    elif settings.admin_token:
        log.info("authenticate with 'Authorization: Bearer $INFERHOUSE_ADMIN_TOKEN'")
    else:
        log.info(
            "authenticate with 'Authorization: Bearer <token>': the admin token is in %s; "
            "make more with `inferhouse token create`",
            settings.data_dir / "admin-token",
        )
