"""``/api/server``: what the server runs as, for an admin token: version, uptime, data directory,
memory, and the encoder backend each endpoint asks for and the one its replica loaded, with why."""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, Response

from inferhouse._version import __version__
from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.auth import ANONYMOUS
from inferhouse.endpoints.deployment import Deployment
from inferhouse.errors import Forbidden, InferhouseError

router = APIRouter(route_class=dialect_route(render_hf, policy="general"), tags=["Server"])

# Loaded as the server starts: the uptime counts from here.
STARTED_AT = time.time()
_PAGE_BYTES = resource.getpagesize()


def resident_bytes() -> int:
    """The process's resident memory now (Linux), or its peak where /proc is missing."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # macOS counts bytes, Linux KiB
    return pages * _PAGE_BYTES


def loaded_backend(deployment: Deployment | None) -> str | None:
    """The backend the endpoint's replicas loaded and why ("torch: asked for"), as its loader said;
    None while nothing is loaded, or for a model that is not an encoder."""
    if deployment is None or not deployment.embeds:
        return None
    try:
        return deployment.embedding_facts().loaded_as
    except InferhouseError:  # unloaded meanwhile
        return None


@router.get("/api/server", summary="Version, uptime, data directory, memory and endpoint backends (admin)")
async def server_info(request: Request) -> Response:
    principal = principal_of(request) or ANONYMOUS
    if not principal.is_admin:
        raise Forbidden("Only an admin token may read the server's details")
    found = services(request)
    settings = found.settings
    endpoints: list[dict[str, Any]] = []
    for stored in sorted(found.endpoints, key=lambda stored: stored.config.name):
        model = stored.config.model
        endpoints.append(
            {
                "name": stored.config.name,
                "state": stored.status.state.value,
                "task": model.task,
                "backend": model.backend or settings.backend,
                "backendFrom": "endpoint" if model.backend else "server",
                "precision": model.precision or settings.precision,
                "loaded": loaded_backend(found.endpoints.deployment(stored.config.name)),
            }
        )
    now = time.time()
    return json_response(
        {
            "version": __version__,
            "startedAt": STARTED_AT,
            "uptimeSeconds": round(now - STARTED_AT, 1),
            "dataDir": str(settings.data_dir),
            "runtime": settings.runtime,
            "database": settings.database_kind,
            "vectorStore": settings.vector_store,
            "residentBytes": resident_bytes(),
            "backend": settings.backend,
            "precision": settings.precision,
            "endpoints": endpoints,
        }
    )
