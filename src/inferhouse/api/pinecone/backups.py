"""Pinecone's backups and restore jobs: back an index up, list and describe backups, delete one, restore
one into a new index, and follow the restore job.

A request waits up to :data:`SETTLE_SECONDS` for the backup or restore it starts, so a small index
answers ``Ready`` (or ``Completed``) at once; a larger one answers ``Initializing`` (``Pending``) and the
caller polls, as with Pinecone.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from inferhouse.api.core.bodies import field, json_object, takes
from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_pinecone_control
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.pinecone import backup_schemas as wire
from inferhouse.errors import BadRequest
from inferhouse.vectors.backup_catalog import Backup, RestoreJob, index_id

router = APIRouter(route_class=dialect_route(render_pinecone_control), tags=["Pinecone backups"])

SETTLE_SECONDS = 2.0


def _time(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _present(reply: dict[str, Any]) -> dict[str, Any]:
    """``reply`` without its empty fields: the 7.x client refuses ``null`` where its models declare a
    plain type, and both client eras read an absent field as ``None``."""
    return {key: value for key, value in reply.items() if value is not None}


def backup_reply(backup: Backup) -> dict[str, Any]:
    source = backup.source
    serverless = (source.spec or {}).get("serverless") or {}
    return _present(
        {
            "backup_id": backup.backup_id,
            "source_index_name": source.name,
            "source_index_id": index_id(source),
            "name": backup.name,
            "description": backup.description,
            "status": backup.status,
            "cloud": serverless.get("cloud", "aws"),
            "region": serverless.get("region", "us-east-1"),
            "dimension": source.dimension,
            "metric": source.metric.value,
            "schema": {
                "fields": {
                    "_values": {
                        "type": "dense_vector",
                        "dimension": source.dimension,
                        "metric": source.metric.value,
                    }
                }
            },
            "record_count": backup.record_count,
            "namespace_count": backup.namespace_count,
            "size_bytes": backup.size_bytes,
            "tags": source.tags or None,
            "created_at": _time(backup.created_at),
        }
    )


def job_reply(job: RestoreJob) -> dict[str, Any]:
    return _present(
        {
            "restore_job_id": job.restore_job_id,
            "backup_id": job.backup_id,
            "target_index_name": job.target.name,
            "target_index_id": index_id(job.target),
            "status": job.status,
            "created_at": _time(job.created_at),
            "completed_at": _time(job.completed_at),
            "percent_complete": job.percent_complete,
        }
    )


def _listing(items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    return {"data": items, "pagination": {"next": token}} if token else {"data": items}


def _page_params(request: Request) -> tuple[str | None, str | None]:
    params = request.query_params
    return params.get("limit"), params.get("paginationToken") or params.get("pagination_token")


@router.post(
    "/indexes/{name}/backups",
    status_code=201,
    summary="Back up an index (its rows as they stand at one moment, while writes go on)",
    openapi_extra=json_body(wire.CreateBackupRequest, required=False),
    responses=replies(wire.Backup, status=201),
)
@takes("optional_json")
async def create_backup(name: str, request: Request) -> Response:
    body = await json_object(request, optional=True)
    backups = services(request).backups
    # The 7.x client sends "description": "" when none is given: no description, as Pinecone reads it.
    description = body.get("description")
    backup = await asyncio.to_thread(
        backups.create, name, body.get("name"), description if description != "" else None, SETTLE_SECONDS
    )
    return json_response(backup_reply(backup), status_code=201)


@router.get(
    "/indexes/{name}/backups",
    summary="List one index's backups, oldest first",
    responses=replies(wire.BackupList),
)
async def list_index_backups(name: str, request: Request) -> Response:
    include_deleted = request.query_params.get("include_deleted", "false")
    if include_deleted not in ("true", "false"):
        raise BadRequest("include_deleted must be true or false")
    limit, token = _page_params(request)
    found, following = await asyncio.to_thread(
        services(request).backups.list_backups, name, limit, token, include_deleted == "true"
    )
    return json_response(_listing([backup_reply(backup) for backup in found], following))


@router.get("/backups", summary="List every backup, oldest first", responses=replies(wire.BackupList))
async def list_backups(request: Request) -> Response:
    limit, token = _page_params(request)
    found, following = await asyncio.to_thread(services(request).backups.list_backups, None, limit, token)
    return json_response(_listing([backup_reply(backup) for backup in found], following))


@router.get("/backups/{backup_id}", summary="Describe a backup", responses=replies(wire.Backup))
async def describe_backup(backup_id: str, request: Request) -> Response:
    backup = await asyncio.to_thread(services(request).backups.describe, backup_id)
    return json_response(backup_reply(backup))


@router.delete(
    "/backups/{backup_id}",
    status_code=202,
    summary="Delete a backup (its source index and indexes restored from it stay)",
    response_class=Response,
    responses={
        202: {"description": "Deleted"},
        412: {"description": "The backup is still being taken, or a running restore reads it"},
    },
)
async def delete_backup(backup_id: str, request: Request) -> Response:
    await asyncio.to_thread(services(request).backups.delete, backup_id)
    return Response(status_code=202)


@router.post(
    "/backups/{backup_id}/create-index",
    status_code=202,
    summary="Restore a backup into a new index, as a restore job",
    openapi_extra=json_body(wire.CreateIndexFromBackupRequest),
    responses=replies(wire.CreateIndexFromBackupResponse, status=202),
)
async def create_index_from_backup(backup_id: str, request: Request) -> Response:
    body = await json_object(request)
    # The 7.x client sends "tags": {} when it is given none: the backup's tags, as when none are sent.
    tags = body.get("tags")
    job = await asyncio.to_thread(
        services(request).backups.restore,
        backup_id,
        body.get("name"),
        field(body, "deletion_protection", "deletionProtection"),
        tags if tags != {} else None,
        SETTLE_SECONDS,
    )
    reply = {"restore_job_id": job.restore_job_id, "index_id": index_id(job.target)}
    return json_response(reply, status_code=202)


@router.get(
    "/restore-jobs", summary="List restore jobs, oldest first", responses=replies(wire.RestoreJobList)
)
async def list_restore_jobs(request: Request) -> Response:
    limit, token = _page_params(request)
    found, following = await asyncio.to_thread(services(request).backups.list_jobs, limit, token)
    return json_response(_listing([job_reply(job) for job in found], following))


@router.get("/restore-jobs/{job_id}", summary="Describe a restore job", responses=replies(wire.RestoreJob))
async def describe_restore_job(job_id: str, request: Request) -> Response:
    job = await asyncio.to_thread(services(request).backups.describe_job, job_id)
    return json_response(job_reply(job))
