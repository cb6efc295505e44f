"""``/api/indexes``: every index with its record counts and size on disk, in one call.

Pinecone's own routes keep Pinecone's shapes (its clients check them); what they do not carry, such as
the bytes an index takes on disk, is here. Any general token may read it, as it may the Pinecone routes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.openapi import replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.vectors.backend import SearchIndex

router = APIRouter(route_class=dialect_route(render_hf, policy="general"), tags=["Index statistics"])

_STATS_REPLY = replies({"type": "object", "required": ["name", "records", "diskBytes"]})
_LIST_REPLY = replies({"type": "object", "required": ["items"]})


def index_stats(index: SearchIndex) -> dict[str, Any]:
    config = index.config
    counts = index.namespace_counts()
    return {
        "name": config.name,
        "dimension": config.dimension,
        "metric": config.metric.value,
        "model": (config.embed or {}).get("model"),  # the integrated model (inference id or endpoint)
        "textField": (config.embed or {}).get("field_map", {}).get("text"),
        "records": sum(counts.values()),
        "namespaces": dict(sorted(counts.items())),
        "diskBytes": index.disk_bytes(),
        "deletionProtection": config.deletion_protection,
    }


def _all_stats(indexes: list[SearchIndex]) -> list[dict[str, Any]]:
    return [index_stats(index) for index in sorted(indexes, key=lambda index: index.config.name)]


@router.get(
    "/api/indexes", summary="Every index with its record counts and size on disk", responses=_LIST_REPLY
)
async def list_index_stats(request: Request) -> Response:
    indexes = services(request).indexes.list()
    return json_response({"items": await run_in_threadpool(_all_stats, indexes)})


@router.get(
    "/api/indexes/{name}", summary="One index's record counts and size on disk", responses=_STATS_REPLY
)
async def one_index_stats(name: str, request: Request) -> Response:
    index = services(request).indexes.get(name)
    return json_response(await run_in_threadpool(index_stats, index))
