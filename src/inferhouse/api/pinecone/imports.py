"""Pinecone's bulk imports, on each index's host: ``/indexes/{name}/bulk/imports``.

``start_import`` reads Parquet files in Pinecone's import layout from a directory on the server's disk
(an absolute path or a ``file://`` URI; vectors/import_layout.py); as it reads the server's files, only
an admin token may start one. Describing, listing and cancelling take any general token.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from inferhouse.api.core.bodies import field, json_object
from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_pinecone_data
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.pinecone.schemas import Pagination
from inferhouse.auth.principal import ANONYMOUS
from inferhouse.errors import BadRequest, Forbidden
from inferhouse.vectors.import_jobs import ErrorMode, ImportJob
from inferhouse.vectors.importer import Importer

router = APIRouter(
    prefix="/indexes/{index_name}/bulk/imports",
    route_class=dialect_route(render_pinecone_data),
    tags=["Pinecone bulk import"],
)

MAX_LIST_LIMIT = 100


class ErrorModeBody(BaseModel):
    onError: Literal["continue", "abort", "CONTINUE", "ABORT", "Continue", "Abort"] = "abort"


class StartImportRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    uri: Annotated[str, Field(min_length=1, max_length=1500)]
    integrationId: str | None = None
    errorMode: ErrorModeBody | None = None


class StartImportReply(BaseModel):
    id: str


class ImportReply(BaseModel):
    id: str
    uri: str
    status: Literal["Pending", "InProgress", "Failed", "Completed", "Cancelled"]
    createdAt: str
    finishedAt: str | None = None
    percentComplete: float
    recordsImported: int
    error: str | None = None


class ImportListReply(BaseModel):
    data: list[ImportReply]
    pagination: Pagination | None = None


def _importer(request: Request) -> Importer:
    return services(request).imports


def _timestamp(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def import_json(job: ImportJob) -> dict[str, Any]:
    """The import's fields, less the empty ones (``finishedAt``, ``error``): the 7.x client refuses
    ``null`` for them, and both client eras read an absent field as ``None``."""
    reply = {
        "id": job.id,
        "uri": job.uri,
        "status": job.status.value,
        "createdAt": _timestamp(job.created_at),
        "finishedAt": _timestamp(job.finished_at),
        "percentComplete": job.percent_complete,
        "recordsImported": job.records_imported,
        "error": job.error,
    }
    return {key: value for key, value in reply.items() if value is not None}


def _error_mode(value: object) -> ErrorMode:
    if value is None:
        return ErrorMode.ABORT
    chosen = value.get("onError") if isinstance(value, dict) else None
    if chosen is None:
        return ErrorMode.ABORT
    if not isinstance(chosen, str) or chosen.lower() not in {mode.value for mode in ErrorMode}:
        raise BadRequest(f"errorMode.onError must be continue or abort, got {chosen!r}")
    return ErrorMode(chosen.lower())


@router.post(
    "",
    summary="Start importing Parquet files from a local directory",
    openapi_extra=json_body(StartImportRequest),
    responses=replies(StartImportReply),
)
async def start_import(index_name: str, request: Request) -> Response:
    if not (principal_of(request) or ANONYMOUS).is_admin:
        raise Forbidden("An import reads files on the server: only an admin token may start one")
    body = await json_object(request)
    uri = body.get("uri")
    if not isinstance(uri, str):
        raise BadRequest("uri must be a string: an absolute local directory or a file:// URI")
    mode = _error_mode(field(body, "errorMode", "error_mode"))
    job = await run_in_threadpool(_importer(request).start, index_name, uri, mode)
    return json_response({"id": job.id})


@router.get("", summary="List an index's imports, paginated", responses=replies(ImportListReply))
async def list_imports(
    index_name: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_LIMIT)] = MAX_LIST_LIMIT,
    pagination_token: Annotated[str | None, Query(alias="paginationToken")] = None,
) -> Response:
    services(request).indexes.get(index_name)
    jobs, token = await run_in_threadpool(_importer(request).page, index_name, limit, pagination_token)
    reply: dict[str, Any] = {"data": [import_json(job) for job in jobs]}
    if token is not None:
        reply["pagination"] = {"next": token}
    return json_response(reply)


@router.get("/{import_id}", summary="Describe one import", responses=replies(ImportReply))
async def describe_import(index_name: str, import_id: str, request: Request) -> Response:
    services(request).indexes.get(index_name)
    job = await run_in_threadpool(_importer(request).describe, index_name, import_id)
    return json_response(import_json(job))


@router.delete("/{import_id}", summary="Cancel an import", responses=replies({"type": "object"}))
async def cancel_import(index_name: str, import_id: str, request: Request) -> Response:
    services(request).indexes.get(index_name)
    await run_in_threadpool(_importer(request).cancel, index_name, import_id)
    return json_response({})
