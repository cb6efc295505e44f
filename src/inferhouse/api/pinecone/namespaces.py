"""Pinecone's namespaces API and its reads and writes by filter, on each index's host.

``/namespaces`` creates, lists, describes and deletes namespaces; ``/vectors/fetch_by_metadata`` pages
through the records a filter matches; an update with a ``filter`` (the data plane's ``/vectors/update``
hands it to :func:`update_by_filter`) sets metadata on every match. The default namespace is
``"__default__"`` on the wire, in paths and in replies.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from inferhouse.api.core.bodies import field, flag, json_object
from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_pinecone_data
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.pinecone import namespace_wire as wire
from inferhouse.api.pinecone.parsing import DEFAULT_NAMESPACE_ALIAS, namespace_name
from inferhouse.errors import BadRequest
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.filters import Filter, compile_filter
from inferhouse.vectors.namespace_listing import NamespaceInfo, all_namespaces, one_namespace
from inferhouse.vectors.page_tokens import decode_token, encode_token
from inferhouse.vectors.rows import Metadata, VectorRow
from inferhouse.vectors.validation import metadata, whole_number

router = APIRouter(
    prefix="/indexes/{index_name}",
    route_class=dialect_route(render_pinecone_data),
    tags=["Pinecone namespaces"],
)

_USAGE = {"readUnits": 1}


def _index(request: Request, index_name: str) -> SearchIndex:
    return services(request).indexes.get(index_name)


def _description(info: NamespaceInfo) -> dict[str, Any]:
    out: dict[str, Any] = {"name": info.name or DEFAULT_NAMESPACE_ALIAS, "record_count": info.record_count}
    if info.schema is not None:
        out["schema"] = info.schema
        out["indexed_fields"] = {"fields": sorted(info.schema["fields"])}
    return out


def _new_name(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise BadRequest("name is required: a non-empty string")
    if len(value) > wire.MAX_NAMESPACE_NAME or "\x00" in value:
        raise BadRequest(f"name must be 1 to {wire.MAX_NAMESPACE_NAME} characters, without NUL")
    if value == DEFAULT_NAMESPACE_ALIAS:
        raise BadRequest(f"{DEFAULT_NAMESPACE_ALIAS} is reserved: the default namespace always exists")
    return value


def _schema(value: object) -> Metadata | None:
    """A namespace schema, ``{"fields": {name: {"filterable": true}}}``, as stored; anything else is a 400.

    Every metadata field stays filterable here; the schema is kept and reported as given."""
    if value is None:
        return None
    fields = value.get("fields") if isinstance(value, dict) else None
    if not isinstance(value, dict) or set(value) != {"fields"} or not isinstance(fields, dict):
        raise BadRequest('schema must be {"fields": {<field>: {"filterable": true}}}')
    for name, config in fields.items():
        if not name or name.startswith("$"):
            raise BadRequest(f"schema field name {name!r} must be non-empty and not start with $")
        if config != {"filterable": True}:
            raise BadRequest(f'schema field {name!r} must be {{"filterable": true}}, got {config!r}')
    return {"fields": {name: {"filterable": True} for name in fields}}


@router.post(
    "/namespaces",
    status_code=201,
    summary="Create an empty namespace, optionally with a metadata schema",
    openapi_extra=json_body(wire.CreateNamespaceRequest),
    responses=replies(wire.NamespaceDescription, status=201),
)
async def create_namespace(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    body = await json_object(request)
    name, schema = _new_name(body.get("name")), _schema(body.get("schema"))
    await run_in_threadpool(index.create_namespace, name, schema)
    return json_response(_description(NamespaceInfo(name, 0, schema)), status_code=201)


@router.get(
    "/namespaces",
    summary="List namespaces by name, with a prefix and pagination",
    responses=replies(wire.ListNamespacesReply),
)
async def list_namespaces(
    index_name: str,
    request: Request,
    prefix: str = "",
    limit: int = Query(wire.MAX_NAMESPACE_PAGE, ge=1, le=wire.MAX_NAMESPACE_PAGE),
    pagination_token: Annotated[str | None, Query(alias="paginationToken")] = None,
) -> Response:
    index = _index(request, index_name)
    after = decode_token(pagination_token)
    described = [_description(info) for info in await run_in_threadpool(all_namespaces, index)]
    matching = sorted((d for d in described if d["name"].startswith(prefix)), key=lambda d: str(d["name"]))
    remaining = [d for d in matching if after is None or d["name"] > after]
    page = remaining[:limit]
    reply: dict[str, Any] = {"namespaces": page, "total_count": len(matching)}
    if len(remaining) > limit:
        reply["pagination"] = {"next": encode_token(page[-1]["name"])}
    return json_response(reply)


@router.get(
    "/namespaces/{namespace:path}",
    summary="Describe a namespace: its record count and schema",
    responses=replies(wire.NamespaceDescription),
)
async def describe_namespace(index_name: str, namespace: str, request: Request) -> Response:
    index = _index(request, index_name)
    info = await run_in_threadpool(one_namespace, index, namespace_name(namespace))
    return json_response(_description(info))


@router.delete(
    "/namespaces/{namespace:path}",
    summary="Delete a namespace and every record in it",
    responses=replies({"type": "object"}),
)
async def delete_namespace(index_name: str, namespace: str, request: Request) -> Response:
    index = _index(request, index_name)
    await run_in_threadpool(index.delete_namespace, namespace_name(namespace))
    return json_response({})


def _required_filter(value: object) -> Filter:
    if not isinstance(value, dict) or not value:
        raise BadRequest("filter is required: an object with at least one condition")
    return compile_filter(value)


def _record_json(record: VectorRow) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record.id, "values": record.values}
    if record.sparse is not None:
        out["sparseValues"] = record.sparse.as_dict()
    if record.metadata:
        out["metadata"] = record.metadata
    return out


@router.post(
    "/vectors/fetch_by_metadata",
    summary="Fetch the records a filter matches, in id order, a page at a time",
    openapi_extra=json_body(wire.FetchByMetadataRequest),
    responses=replies(wire.FetchByMetadataReply),
)
async def fetch_by_metadata(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    body = await json_object(request)
    namespace = namespace_name(body.get("namespace"))
    predicate = _required_filter(body.get("filter"))
    given = body.get("limit", 100)
    limit = whole_number(given)
    if limit is None or not 1 <= limit <= wire.MAX_FETCH_BY_METADATA:
        raise BadRequest(f"limit must be an integer from 1 to {wire.MAX_FETCH_BY_METADATA}, got {given!r}")
    token = field(body, "paginationToken", "pagination_token")
    if token is not None and not isinstance(token, str):
        raise BadRequest("paginationToken must be a string: the pagination.next of a listing")
    after = decode_token(token)
    found = await run_in_threadpool(index.fetch_matching, namespace, predicate, after, limit + 1)
    page = found[:limit]
    reply: dict[str, Any] = {
        "vectors": {record.id: _record_json(record) for record in page},
        "namespace": namespace,
        "usage": _USAGE,
    }
    if len(found) > limit:
        reply["pagination"] = {"next": encode_token(page[-1].id)}
    return json_response(reply)


async def update_by_filter(index: SearchIndex, body: dict[str, Any]) -> Response:
    """``setMetadata`` merged into every record ``filter`` matches; ``dryRun`` only counts them."""
    if body.get("id") is not None:
        raise BadRequest("Update takes exactly one of id or filter, not both")
    if body.get("values") is not None or field(body, "sparseValues", "sparse_values") is not None:
        raise BadRequest("An update by filter sets metadata only: values and sparseValues need an id")
    namespace = namespace_name(body.get("namespace"))
    predicate = _required_filter(body.get("filter"))
    patch = metadata(field(body, "setMetadata", "set_metadata")) or {}
    dry_run = flag(body, "dryRun", "dry_run")
    matched = await run_in_threadpool(index.update_matching, namespace, predicate, patch, dry_run)
    return json_response({"matchedRecords": matched})
