"""Pinecone's control plane: create, list, describe, configure and delete indexes.

Two client eras read these replies: 7.x wants ``name, dimension, metric, host, spec, status``; 10.x wants
``name, status, schema, deployment, deletion_protection``. Every description carries both sets.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from starlette.convertors import StringConvertor, register_url_convertor

from inferhouse.api.core.bodies import field, json_object
from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_pinecone_control
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.pinecone import schemas as wire
from inferhouse.errors import BadRequest, IndexNotFound
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.registry import parse_metric

router = APIRouter(route_class=dialect_route(render_pinecone_control), tags=["Pinecone control plane"])

# /indexes/create-for-model is a route of its own (POST only), not an index: /indexes/{name} does not match
# it, so another method there answers 405 with Allow: POST rather than describing or deleting an index.
CREATE_FOR_MODEL = "create-for-model"


class _IndexName(StringConvertor):
    regex = f"(?!{CREATE_FOR_MODEL}$)[^/]+"


register_url_convertor("index_name", _IndexName())

_DEFAULT_SPEC: dict[str, Any] = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


def describe(index: SearchIndex, request: Request) -> dict[str, Any]:
    return describe_config(index.config, request)


def describe_config(config: IndexConfig, request: Request, *, ready: bool = True) -> dict[str, Any]:
    host = f"{str(request.base_url).rstrip('/')}/indexes/{config.name}"
    spec = config.spec or _DEFAULT_SPEC
    serverless = spec.get("serverless") or {}
    reply: dict[str, Any] = {
        "name": config.name,
        "dimension": config.dimension,
        "metric": config.metric.value,
        "host": host,
        "vector_type": "dense",
        "spec": spec,
        "status": {"ready": True, "state": "Ready"} if ready else {"ready": False, "state": "Initializing"},
        "deletion_protection": config.deletion_protection,
        "tags": config.tags or None,
        "schema": {
            "fields": {
                "_values": {
                    "type": "dense_vector",
                    "dimension": config.dimension,
                    "metric": config.metric.value,
                }
            }
        },
        "deployment": {
            "deployment_type": "managed",
            "cloud": serverless.get("cloud", "aws"),
            "region": serverless.get("region", "us-east-1"),
        },
    }
    if config.embed is not None:
        _describe_embed(reply, config.embed)
    return reply


def _describe_embed(reply: dict[str, Any], embed: dict[str, Any]) -> None:
    """7.x reads the integrated model from ``embed``; 10.x from a ``semantic_text`` schema field named
    after the text field (and keeps reading dimension and metric from ``_values``)."""
    reply["embed"] = {key: value for key, value in embed.items() if key != "chunking_settings"}
    reply["chunking_settings"] = embed.get("chunking_settings")
    reply["schema"]["fields"][embed["field_map"]["text"]] = {
        "type": "semantic_text",
        "model": embed["model"],
        "metric": embed["metric"],
        "read_parameters": embed.get("read_parameters") or {},
        "write_parameters": embed.get("write_parameters") or {},
    }


def config_from_body(body: dict[str, Any]) -> IndexConfig:
    """Read either era's create body: 7.x puts dimension and metric at the top, 10.x in ``schema``."""
    name = body.get("name")
    if name == CREATE_FOR_MODEL:
        raise BadRequest(
            f"{CREATE_FOR_MODEL} is not an index name: /indexes/{CREATE_FOR_MODEL} creates indexes"
        )
    dimension, metric = body.get("dimension"), body.get("metric")
    schema = body.get("schema")
    if isinstance(schema, dict):
        fields = schema.get("fields") or {}
        if not isinstance(fields, dict):
            raise BadRequest("schema.fields must be an object of named fields")
        dense = next(
            (f for f in fields.values() if isinstance(f, dict) and f.get("type") == "dense_vector"), None
        )
        if dense is None:
            raise BadRequest("schema.fields must contain one field of type dense_vector")
        dimension, metric = dense.get("dimension"), dense.get("metric", metric)
    vector_type = body.get("vector_type", "dense")
    if vector_type not in (None, "dense"):
        raise BadRequest("Only dense indexes are supported (vector_type dense)")
    spec = body.get("spec")
    deployment = body.get("deployment")
    if spec is None and isinstance(deployment, dict):
        spec = {
            "serverless": {
                "cloud": deployment.get("cloud", "aws"),
                "region": deployment.get("region", "us-east-1"),
            }
        }
    tags = body.get("tags") or {}
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise BadRequest("tags must be an object of strings")
    return IndexConfig(
        name=name,  # type: ignore[arg-type]  # validated by the registry
        dimension=dimension,  # type: ignore[arg-type]
        metric=parse_metric(metric),
        deletion_protection=field(body, "deletion_protection", "deletionProtection") or "disabled",
        tags=dict(tags),
        spec=spec if isinstance(spec, dict) else dict(_DEFAULT_SPEC),
    )


@router.post(
    "/indexes",
    status_code=201,
    summary="Create an index (either client era's body)",
    openapi_extra=json_body(wire.CreateIndexRequest),
    responses=replies(wire.IndexDescription, status=201),
)
async def create_index(request: Request) -> Response:
    body = await json_object(request)
    index = services(request).indexes.create(config_from_body(body))
    return json_response(describe(index, request), status_code=201)


@router.get("/indexes", summary="List indexes", responses=replies(wire.IndexList))
async def list_indexes(request: Request) -> Response:
    return json_response(
        {"indexes": [describe(index, request) for index in services(request).indexes.list()]}
    )


@router.get(
    "/indexes/{name:index_name}", summary="Describe an index", responses=replies(wire.IndexDescription)
)
async def describe_index(name: str, request: Request) -> Response:
    found = services(request)
    try:
        return json_response(describe(found.indexes.get(name), request))
    except IndexNotFound:
        restoring = found.backups.restoring(name)  # a restore will publish it: initializing until then
        if restoring is None:
            raise
        return json_response(describe_config(restoring, request, ready=False))


@router.patch(
    "/indexes/{name:index_name}",
    summary="Configure deletion protection and tags",
    openapi_extra=json_body(wire.ConfigureIndexRequest),
    responses=replies(wire.IndexDescription),
)
async def configure_index(name: str, request: Request) -> Response:
    body = await json_object(request)
    tags = body.get("tags")
    if tags is not None and (
        not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values())
    ):
        raise BadRequest("tags must be an object of strings")
    protection = field(body, "deletion_protection", "deletionProtection")
    index = services(request).indexes.configure(name, protection, tags)
    return json_response(describe(index, request))


@router.delete(
    "/indexes/{name:index_name}",
    status_code=202,
    summary="Delete an index and its vectors",
    response_class=Response,
    responses={202: {"description": "Deleted"}},
)
async def delete_index(name: str, request: Request) -> Response:
    services(request).indexes.delete(name)
    return Response(status_code=202)
