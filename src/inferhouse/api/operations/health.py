"""Operations: liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST

from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import Services, services
from inferhouse.auth import OPERATOR, Principal
from inferhouse.endpoints.access import listed_in_health
from inferhouse.errors import Unauthorized

public = APIRouter(route_class=dialect_route(render_hf, policy="public"), tags=["Operations"])
router = APIRouter(route_class=dialect_route(render_hf), tags=["Operations"])


@public.get(
    "/health", summary="Liveness: 200 while the server runs; public endpoints' states (all to an admin)"
)
async def health(request: Request) -> Response:
    found = services(request)
    principal = _optional_principal(found, request)
    states = {
        record.config.name: record.status.state.value
        for record in sorted(found.endpoints, key=lambda record: record.config.name)
        if listed_in_health(principal, record)
    }
    body = {
        "status": "ok",
        "database": found.settings.database_kind,  # the kind only: this is public
        "vector_store": found.settings.vector_store,
        "runtime": found.settings.runtime,
        "endpoints": states,
    }
    return json_response(body)


def _optional_principal(found: Services, request: Request) -> Principal | None:
    """Liveness must not fail on a bad token: one that is missing or unknown lists public endpoints."""
    if not found.settings.auth:
        return OPERATOR
    try:
        return found.tokens.identify(request.headers.get("authorization"), request.headers.get("api-key"))
    except Unauthorized:
        return None


@router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> Response:
    found = services(request)
    for deployment in found.serverless.loaded():  # endpoints report their own queues as they run
        if deployment.embeds:
            found.metrics.queue_depth.labels(deployment.name).set(deployment.queued())
    return Response(found.metrics.render(), media_type=CONTENT_TYPE_LATEST)
