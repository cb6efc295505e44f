"""Operations: liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from inferhouse.api.dialect import dialect_route
from inferhouse.api.renderers import render_hf
from inferhouse.api.responses import json_response
from inferhouse.api.services import services

public = APIRouter(route_class=dialect_route(render_hf, policy="public"), tags=["Operations"])
router = APIRouter(route_class=dialect_route(render_hf), tags=["Operations"])


@public.get("/health", summary="Liveness: 200 while the server runs")
async def health(request: Request) -> Response:
    found = services(request)
    states = {name: found.endpoints.get(name).status.state.value for name in found.endpoints.names()}
    return json_response({"status": "ok", "endpoints": states})


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    found = services(request)
    for embedder in found.pool.loaded():
        found.metrics.queue_depth.labels(embedder.model_id).set(embedder.batcher.queued_inputs)
    return Response(found.metrics.render(), media_type=CONTENT_TYPE_LATEST)
