"""``/api/indexes/{name}/export``: an index's records from one consistent read, as an Arrow IPC stream.

One batch per namespace run, with a ``namespace`` column beside the columns of Pinecone's import layout
(vectors/exporter.py); ``inferhouse index export`` writes it as the layout's Parquet files, which
``start_import`` reads back. The stream holds every vector of the index, so only an admin token may read it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_hf
from inferhouse.api.core.openapi import replies
from inferhouse.api.core.services import services
from inferhouse.auth.principal import ANONYMOUS
from inferhouse.errors import Forbidden
from inferhouse.vectors.exporter import MEDIA_TYPE, stream_bytes

router = APIRouter(route_class=dialect_route(render_hf, policy="general"), tags=["Index export"])


@router.get(
    "/api/indexes/{name}/export",
    summary="Every record of an index from one snapshot, as an Arrow IPC stream",
    responses=replies({"type": "string", "format": "binary"}, media_type=MEDIA_TYPE),
    response_class=StreamingResponse,
)
async def export_index(name: str, request: Request) -> StreamingResponse:
    if not (principal_of(request) or ANONYMOUS).is_admin:
        raise Forbidden("Only an admin token may export an index")
    found = services(request)
    index = found.indexes.get(name)
    # A sync iterator: Starlette pulls each piece in its thread pool, so reading never blocks the loop.
    return StreamingResponse(stream_bytes(found.snapshots.rows(index)), media_type=MEDIA_TYPE)
