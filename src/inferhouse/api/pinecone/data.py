"""Pinecone's data plane, on each index's host: ``http://HOST:PORT/indexes/{name}``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from inferhouse.api.core.bodies import field, flag, json_object, takes
from inferhouse.api.core.dialect import dialect_route
from inferhouse.api.core.error_shapes import render_pinecone_data
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.pinecone import schemas as wire
from inferhouse.api.pinecone.namespace_wire import UpdateReply
from inferhouse.api.pinecone.namespaces import update_by_filter
from inferhouse.api.pinecone.parsing import (
    MAX_FETCH_IDS,
    MAX_TOP_K,
    dense_values,
    id_list,
    namespace_name,
    sparse_values,
    upsert_records,
)
from inferhouse.errors import BadRequest
from inferhouse.integrated.upsert import delete_records
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.filters import Predicate, compile_filter
from inferhouse.vectors.index import Match
from inferhouse.vectors.namespace_listing import namespace_counts
from inferhouse.vectors.rows import VectorRow
from inferhouse.vectors.validation import check_id, check_sparse_query, metadata, whole_number

router = APIRouter(
    prefix="/indexes/{index_name}",
    route_class=dialect_route(render_pinecone_data),
    tags=["Pinecone data plane"],
)

_USAGE = {"readUnits": 1}


def _index(request: Request, index_name: str) -> SearchIndex:
    return services(request).indexes.get(index_name)


def _predicate(value: object) -> Predicate | None:
    return None if value is None else compile_filter(value)


def _record_json(record: VectorRow, values: bool = True, meta: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"id": record.id}
    if values:
        out["values"] = record.values
        if record.sparse is not None:
            out["sparseValues"] = record.sparse.as_dict()
    if meta and record.metadata:
        out["metadata"] = record.metadata
    return out


@router.post(
    "/vectors/upsert",
    summary="Upsert up to 1000 vectors; all or nothing",
    openapi_extra=json_body(wire.UpsertRequest),
    responses=replies(wire.UpsertReply),
)
async def upsert(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    body = await json_object(request)
    namespace = namespace_name(body.get("namespace"))
    records = upsert_records(body.get("vectors"), index.config.dimension)
    count = await run_in_threadpool(index.upsert, namespace, records)
    return json_response({"upsertedCount": count})


@router.post(
    "/query",
    summary="Nearest neighbours of a vector or of a stored id",
    openapi_extra=json_body(wire.QueryRequest),
    responses=replies(wire.QueryReply),
)
async def query(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    return json_response(await answer_query(index, await json_object(request)))


async def answer_query(index: SearchIndex, body: dict[str, Any]) -> dict[str, Any]:
    """The reply to a query ``body`` (a JSON object) on ``index``; the route's and the query lane's."""
    namespace = namespace_name(body.get("namespace"))
    given = field(body, "topK", "top_k")
    top_k = whole_number(given)
    if top_k is None or not 1 <= top_k <= MAX_TOP_K:
        raise BadRequest(f"topK must be an integer from 1 to {MAX_TOP_K}, got {given!r}")
    include_values = flag(body, "includeValues", "include_values", nullable=False)
    include_metadata = flag(body, "includeMetadata", "include_metadata", nullable=False)
    predicate = _predicate(body.get("filter"))
    sparse = sparse_values(field(body, "sparseVector", "sparse_vector"))
    check_sparse_query(sparse, index.config.metric)
    vector_in, id_in = body.get("vector"), body.get("id")
    if (vector_in is None) == (id_in is None):
        raise BadRequest("Exactly one of vector or id must be provided")
    if id_in is not None:
        stored = index.fetch(namespace, [check_id(id_in)]).get(id_in)
        if stored is None:
            return {"matches": [], "namespace": namespace, "usage": _USAGE}
        vector = stored.values
    else:
        vector = dense_values(vector_in, index.config.dimension, what="Query vector")
    matches: list[Match] = await run_in_threadpool(index.query, namespace, vector, top_k, predicate, sparse)
    reply = []
    for match in matches:
        item = _record_json(match.record, include_values, include_metadata)
        item["score"] = match.score
        if not include_values:
            item["values"] = []
        reply.append(item)
    return {"matches": reply, "namespace": namespace, "usage": _USAGE}


# Many long ids make a request line over the HTTP server's limit, which it refuses in plain text.
_LINE_TOO_LONG = {
    400: {"description": "Bad Request", "content": {"text/plain": {"schema": {"type": "string"}}}}
}


@router.get(
    "/vectors/fetch", summary="Fetch vectors by id", responses=replies(wire.FetchReply) | _LINE_TOO_LONG
)
async def fetch(
    index_name: str,
    request: Request,
    ids: Annotated[list[wire.VectorId], Query(min_length=1, max_length=MAX_FETCH_IDS)],
    namespace: str = "",
) -> Response:
    index = _index(request, index_name)
    wanted = id_list(ids)
    found = index.fetch(namespace_name(namespace), wanted)
    vectors = {vector_id: _record_json(record) for vector_id, record in found.items()}
    return json_response({"vectors": vectors, "namespace": namespace_name(namespace), "usage": _USAGE})


@router.post(
    "/vectors/update",
    summary="Update one vector's values, sparse values or metadata, or the metadata of every filter match",
    openapi_extra=json_body(wire.UpdateRequest),
    responses=replies(UpdateReply),
)
async def update(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    body = await json_object(request)
    if body.get("filter") is not None:
        return await update_by_filter(index, body)
    if body.get("id") is None:
        raise BadRequest("Update takes exactly one of id or filter")
    namespace = namespace_name(body.get("namespace"))
    vector_id = check_id(body.get("id"))
    values = body.get("values")
    dense = dense_values(values, index.config.dimension) if values is not None else None
    sparse = sparse_values(field(body, "sparseValues", "sparse_values"))
    new_metadata = metadata(field(body, "setMetadata", "set_metadata"))
    await run_in_threadpool(index.update, namespace, vector_id, dense, sparse, new_metadata)
    return json_response({})


@router.post(
    "/vectors/delete",
    summary="Delete by ids, by filter, or a whole namespace",
    openapi_extra=json_body(wire.DeleteRequest),
    responses=replies({"type": "object"}),
)
async def delete(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    body = await json_object(request)
    namespace = namespace_name(body.get("namespace"))
    ids, delete_all, filter_spec = body.get("ids"), flag(body, "deleteAll", "delete_all"), body.get("filter")
    chosen = sum([ids is not None, delete_all, filter_spec is not None])
    if chosen != 1:
        raise BadRequest("Delete takes exactly one of ids, deleteAll or filter")
    if delete_all:
        await run_in_threadpool(index.delete_all, namespace)
    elif filter_spec is not None:
        await run_in_threadpool(index.delete_matching, namespace, compile_filter(filter_spec))
    elif index.config.embed is not None:  # a record id stands for all of the record's chunks
        wanted = id_list(ids)
        await run_in_threadpool(index.delete, namespace, wanted)
        await delete_records(index, namespace, wanted)
    else:
        await run_in_threadpool(index.delete, namespace, id_list(ids))
    return json_response({})


@router.get(
    "/vectors/list",
    summary="List ids, ascending, with a prefix and pagination",
    responses=replies(wire.ListReply),
)
async def list_vectors(
    index_name: str,
    request: Request,
    prefix: str = "",
    limit: int = Query(100, ge=1, le=100),
    pagination_token: Annotated[str | None, Query(alias="paginationToken")] = None,
    namespace: str = "",
) -> Response:
    index = _index(request, index_name)
    if not 1 <= limit <= 100:
        raise BadRequest(f"limit must be between 1 and 100, got {limit}")
    ids, token = index.list_ids(namespace_name(namespace), prefix, limit, pagination_token)
    reply: dict[str, Any] = {"vectors": [{"id": i} for i in ids], "namespace": namespace_name(namespace)}
    if token is not None:
        reply["pagination"] = {"next": token}
    reply["usage"] = _USAGE
    return json_response(reply)


@router.post(
    "/describe_index_stats",
    summary="Vector counts per namespace, optionally filtered",
    openapi_extra=json_body(wire.StatsRequest, required=False),
    responses=replies(wire.StatsReply),
)
@router.get(
    "/describe_index_stats", summary="Vector counts per namespace", responses=replies(wire.StatsReply)
)
@takes("optional_json")
async def describe_index_stats(index_name: str, request: Request) -> Response:
    index = _index(request, index_name)
    body = await json_object(request, optional=True) if request.method == "POST" else {}
    counts = await run_in_threadpool(namespace_counts, index, _predicate(body.get("filter")))
    return json_response(
        {
            "namespaces": {name: {"vectorCount": count} for name, count in counts.items()},
            "dimension": index.config.dimension,
            "indexFullness": 0.0,
            "totalVectorCount": sum(counts.values()),
            "metric": index.config.metric.value,
            "vectorType": "dense",
        }
    )
