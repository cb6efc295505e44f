"""Pinecone's integrated inference: indexes created for a model, text records in, text queries out,
and the ``/embed`` and ``/rerank`` inference routes, all backed by this server's models."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from inferhouse.api.core.bodies import field, json_object, parse_json, takes
from inferhouse.api.core.dialect import dialect_route, principal_of
from inferhouse.api.core.error_shapes import render_pinecone_control, render_pinecone_data
from inferhouse.api.core.openapi import json_body, replies
from inferhouse.api.core.responses import json_response
from inferhouse.api.core.services import services
from inferhouse.api.pinecone import schemas as wire
from inferhouse.api.pinecone.control import config_from_body, describe
from inferhouse.api.pinecone.parsing import MAX_TOP_K, namespace_name
from inferhouse.chunking import DEFAULT_CHUNKING, parse_chunking_settings
from inferhouse.errors import BadRequest
from inferhouse.integrated.binding import Binding, embed_counted
from inferhouse.integrated.search import RecordHit, Rerank, search_records
from inferhouse.integrated.upsert import MAX_RECORDS, parse_records, upsert_records
from inferhouse.vectors.backend import SearchIndex
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.validation import MAX_ID_LENGTH, whole_number

control = APIRouter(
    route_class=dialect_route(render_pinecone_control), tags=["Pinecone integrated inference"]
)
router = APIRouter(
    prefix="/indexes/{index_name}/records/namespaces/{namespace}",
    route_class=dialect_route(render_pinecone_data),
    tags=["Pinecone integrated inference"],
)
# The 7.x client sends the default namespace "" as an empty path segment: .../namespaces//upsert
default_namespace = APIRouter(
    prefix="/indexes/{index_name}/records/namespaces",
    route_class=dialect_route(render_pinecone_data),
    tags=["Pinecone integrated inference"],
)


@control.post(
    "/indexes/create-for-model",
    status_code=201,
    summary="Create an index that embeds its records",
    openapi_extra=json_body(wire.CreateForModelRequest),
    responses=replies(wire.IndexDescription, status=201),
)
async def create_for_model(request: Request) -> Response:
    found = services(request)
    body = await json_object(request)
    embed = body.get("embed")
    if not isinstance(embed, dict) or not isinstance(embed.get("model"), str):
        raise BadRequest(
            "embed.model is required: the inference endpoint or endpoint that embeds the records"
        )
    field_map = embed.get("field_map")
    if not isinstance(field_map, dict) or not isinstance(field_map.get("text"), str) or not field_map["text"]:
        raise BadRequest("embed.field_map must map 'text' to the record field that holds the text to embed")
    model = embed["model"]
    _allowed(request, model)
    runner, own_chunking, dimension = found.models.embedder(model)
    raw_chunking = field(body, "chunking_settings") or embed.get("chunking_settings")
    chunking = parse_chunking_settings(raw_chunking) if raw_chunking else own_chunking or DEFAULT_CHUNKING
    if dimension is None:
        dimension = len((await runner.embed(["how big"]))[0])
    requested = embed.get("dimension")
    if requested is not None and requested != dimension:
        raise BadRequest(f"Model '{model}' produces {dimension} dimensions, not {requested}")
    config = config_from_body(
        {
            "name": body.get("name"),
            "dimension": dimension,
            "metric": embed.get("metric") or "cosine",
            "spec": {
                "serverless": {"cloud": body.get("cloud", "aws"), "region": body.get("region", "us-east-1")}
            },
            "deletion_protection": field(body, "deletion_protection", "deletionProtection"),
            "tags": body.get("tags"),
        }
    )
    config.embed = {
        "model": model,
        "field_map": {"text": field_map["text"]},
        "metric": config.metric.value,
        "dimension": dimension,
        "vector_type": "dense",
        "read_parameters": embed.get("read_parameters") or {},
        "write_parameters": embed.get("write_parameters") or {},
        "chunking_settings": chunking.as_dict(),
    }
    index = found.indexes.create(config)
    return json_response(describe(index, request), status_code=201)


def _allowed(request: Request, model: str) -> None:
    services(request).models.authorize(model, principal_of(request))


def _binding(request: Request, index: SearchIndex) -> Binding:
    if index.config.embed is None:
        raise BadRequest(
            f"Index {index.config.name} has no integrated embedding model: create it with "
            "/indexes/create-for-model to upsert and search text records"
        )
    _allowed(request, str(index.config.embed["model"]))
    return services(request).models.binding(index.config.embed)


# One JSON object per line: ``_id`` (or ``id``), the text field and any other fields. The document
# declares the records as an array, one item a line (NDJSON has no JSON Schema of its own).
_RECORD = {
    "type": "object",
    "description": "A record: its id, the text field the index embeds (its field_map) and metadata fields",
    "properties": {
        "_id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
        "id": {"type": "string", "minLength": 1, "maxLength": MAX_ID_LENGTH},
    },
    "anyOf": [{"required": ["_id"]}, {"required": ["id"]}],
}
_NDJSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {"type": "array", "items": _RECORD, "minItems": 1, "maxItems": MAX_RECORDS}
            }
        },
    }
}


def _ndjson(raw: bytes) -> list[object]:
    items = []
    for number, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            items.append(parse_json(line, f"Line {number} of the body"))
    return items


@default_namespace.post("//upsert", status_code=201, include_in_schema=False)
@takes("ndjson")
async def upsert_default(index_name: str, request: Request) -> Response:
    return await upsert(index_name, "", request)


@router.post(
    "/upsert",
    status_code=201,
    summary="Upsert text records (NDJSON); each is chunked and embedded",
    openapi_extra=_NDJSON_BODY,
    response_class=Response,
    responses={201: {"description": "Upserted"}},
)
@takes("ndjson")
async def upsert(index_name: str, namespace: str, request: Request) -> Response:
    items = _ndjson(await request.body())  # a body that is not NDJSON is refused first, as JSON bodies are
    found = services(request)
    index = found.indexes.get(index_name)
    binding = _binding(request, index)
    records = parse_records(items, binding.text_field)
    await upsert_records(index, namespace_name(namespace), records, binding)
    return Response(status_code=201)


def _hit(hit: RecordHit, wanted: list[str] | None) -> dict[str, Any]:
    fields = hit.fields if wanted is None else {key: hit.fields[key] for key in wanted if key in hit.fields}
    return {
        "_id": hit.record_id,
        "_score": hit.rerank_score if hit.rerank_score is not None else hit.score,
        "fields": fields,
        "_chunk": {"index": hit.chunk, "start_offset": hit.start_offset, "end_offset": hit.end_offset},
    }


def _rerank(request: Request, raw: object, text: str, top_k: int) -> Rerank | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("model"), str):
        raise BadRequest("rerank.model is required")
    rank_fields = raw.get("rank_fields") or raw.get("rankFields")
    if not isinstance(rank_fields, list) or len(rank_fields) != 1 or not isinstance(rank_fields[0], str):
        raise BadRequest("rerank.rank_fields must name exactly one field")
    given = raw.get("top_n", raw.get("topN", top_k))
    top_n = whole_number(given)
    if top_n is None or top_n < 1:
        raise BadRequest(f"rerank.top_n must be a positive integer, got {given!r}")
    query = raw.get("query") or text
    _allowed(request, raw["model"])
    return Rerank(services(request).models.ranker(raw["model"]), rank_fields[0], top_n, str(query))


@default_namespace.post("//search", include_in_schema=False)
async def search_default(index_name: str, request: Request) -> Response:
    return await search(index_name, "", request)


@router.post(
    "/search",
    summary="Search text records with a text query",
    openapi_extra=json_body(wire.SearchRecordsRequest),
    responses=replies(wire.SearchRecordsReply),
)
async def search(index_name: str, namespace: str, request: Request) -> Response:
    found = services(request)
    index = found.indexes.get(index_name)
    binding = _binding(request, index)
    body = await json_object(request)
    query = body.get("query")
    if not isinstance(query, dict):
        raise BadRequest('query is required: {"inputs": {"text": ...}, "top_k": N}')
    inputs = query.get("inputs")
    text = inputs.get("text") if isinstance(inputs, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise BadRequest("query.inputs.text must be a non-empty string")
    given = field(query, "top_k", "topK")
    top_k = whole_number(given)
    if top_k is None or not 1 <= top_k <= MAX_TOP_K:
        raise BadRequest(f"query.top_k must be an integer from 1 to {MAX_TOP_K}, got {given!r}")
    spec = query.get("filter")
    predicate = compile_filter(spec) if spec is not None else None
    wanted = body.get("fields")
    if wanted is not None and (not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted)):
        raise BadRequest("fields must be a list of field names")
    if wanted is not None and "*" in wanted:
        wanted = None  # 7.x sends ["*"] by default; 10.x leaves fields out: both mean every field
    rerank = _rerank(request, body.get("rerank"), text, top_k)
    searched = await search_records(index, namespace_name(namespace), binding, text, top_k, predicate, rerank)
    # As Pinecone: embed_total_tokens only when the query was embedded (and counted), rerank_units only
    # when it was reranked; 10.x reads their absence as "that stage did not run".
    usage: dict[str, Any] = {"read_units": 1}
    if searched.embed_tokens is not None:
        usage["embed_total_tokens"] = searched.embed_tokens
    if rerank is not None:
        usage["rerank_units"] = 1
    return json_response({"result": {"hits": [_hit(hit, wanted) for hit in searched.hits]}, "usage": usage})


@control.post(
    "/embed",
    summary="Embed texts with an inference endpoint or endpoint (Pinecone's inference API)",
    openapi_extra=json_body(wire.PineconeEmbedRequest),
)
async def embed(request: Request) -> Response:
    found = services(request)
    body = await json_object(request)
    model = body.get("model")
    if not isinstance(model, str):
        raise BadRequest("model is required")
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise BadRequest('inputs must be a non-empty list of {"text": ...} objects')
    texts = []
    for position, item in enumerate(inputs):
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise BadRequest(f"inputs[{position}].text must be a string")
        texts.append(text)
    limit = found.settings.max_client_batch_size
    if len(texts) > limit:
        raise BadRequest(f"inputs takes at most {limit} texts, got {len(texts)}")
    _allowed(request, model)
    runner, _, _ = found.models.embedder(model)
    vectors, tokens = await embed_counted(runner, texts)
    return json_response(
        {
            "model": model,
            "vector_type": "dense",
            "data": [{"values": vector, "vector_type": "dense"} for vector in vectors],
            # 10.x requires total_tokens; a remote service does not report what it read
            "usage": {"total_tokens": tokens or 0},
        }
    )


@control.post(
    "/rerank",
    summary="Rerank documents with a ranking endpoint (Pinecone's inference API)",
    openapi_extra=json_body(wire.PineconeRerankRequest),
)
async def rerank(request: Request) -> Response:
    found = services(request)
    body = await json_object(request)
    model, query, documents = body.get("model"), body.get("query"), body.get("documents")
    if not isinstance(model, str) or not isinstance(query, str):
        raise BadRequest("model and query are required")
    if not isinstance(documents, list) or not documents:
        raise BadRequest("documents must be a non-empty list")
    rank_fields = field(body, "rank_fields", "rankFields") or ["text"]
    if not isinstance(rank_fields, list) or len(rank_fields) != 1:
        raise BadRequest("rank_fields must name exactly one field")
    texts = []
    for position, document in enumerate(documents):
        text = document.get(rank_fields[0]) if isinstance(document, dict) else document
        if not isinstance(text, str):
            raise BadRequest(f"documents[{position}] has no string field '{rank_fields[0]}'")
        texts.append(text)
    given = field(body, "top_n", "topN") or len(texts)
    top_n = whole_number(given)
    if top_n is None or top_n < 1:
        raise BadRequest(f"top_n must be a positive integer, got {given!r}")
    return_documents = field(body, "return_documents", "returnDocuments")
    _allowed(request, model)
    ranked = await found.models.ranker(model).rerank(query, texts, top_n=top_n)
    data = []
    for item in ranked[:top_n]:
        entry: dict[str, Any] = {"index": item.index, "score": item.score}
        if return_documents is not False:
            document = documents[item.index]
            entry["document"] = document if isinstance(document, dict) else {"text": document}
        data.append(entry)
    return json_response({"model": model, "data": data, "usage": {"rerank_units": 1}})
