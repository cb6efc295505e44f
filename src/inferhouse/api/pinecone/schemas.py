"""Pinecone's request and reply bodies, as the OpenAPI document declares them.

The routes read these bodies in ``parsing.py`` (per-element pydantic validation of vector payloads
costs too much); these models only describe the wire, with the same limits. Both spellings the clients
send (camelCase and snake_case) are accepted by the routes; the document names the camelCase one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict, JsonValue

from inferhouse.api.pinecone.parsing import MAX_FETCH_IDS, MAX_TOP_K, MAX_UPSERT_VECTORS
from inferhouse.vectors.validation import INDEX_NAME, MAX_DIMENSION, MAX_ID_LENGTH

VectorId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]
# Anchored: a JSON Schema pattern matches anywhere in the string, the routes match the whole name.
IndexName = Annotated[str, Field(pattern=f"^{INDEX_NAME.pattern}$")]
_SCALAR = {"type": ["string", "number", "boolean"]}
_SCALARS = {"type": "array", "items": _SCALAR}
_NUMBER = {"type": "number"}
_FIELD_CONDITION = {
    "anyOf": [
        _SCALAR,
        {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": False,
            "properties": {
                "$eq": _SCALAR,
                "$ne": _SCALAR,
                "$gt": _NUMBER,
                "$gte": _NUMBER,
                "$lt": _NUMBER,
                "$lte": _NUMBER,
                "$in": _SCALARS,
                "$nin": _SCALARS,
                "$exists": {"type": "boolean"},
            },
        },
    ]
}


def _filter_grammar(schema: dict[str, Any]) -> None:
    """$and/$or hold lists of filters (never null); any other key is a field with a value or operators."""
    for combinator in ("$and", "$or"):
        branches = schema["properties"][combinator].pop("anyOf")
        schema["properties"][combinator].update(next(b for b in branches if b.get("type") == "array"))
        schema["properties"][combinator].pop("default", None)
    schema["patternProperties"] = {"^[^$]": _FIELD_CONDITION}
    schema["additionalProperties"] = False


class MetadataFilter(BaseModel):
    """A metadata filter, as ``vectors.filters`` compiles it."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_filter_grammar)

    all_of: list[MetadataFilter] | None = Field(None, alias="$and", min_length=1)
    any_of: list[MetadataFilter] | None = Field(None, alias="$or", min_length=1)


Filter = MetadataFilter
MetadataValue = str | float | bool | list[str]


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow")


class SparseValues(_Body):
    indices: list[Annotated[int, Field(ge=0, lt=2**32)]]
    values: list[float]


class Vector(_Body):
    id: VectorId
    values: list[float] = Field(description="As many as the index's dimension")
    sparseValues: SparseValues | None = None
    metadata: dict[str, MetadataValue] | None = None


class UpsertRequest(_Body):
    vectors: list[Vector] = Field(min_length=1, max_length=MAX_UPSERT_VECTORS)
    namespace: str | None = None


class UpsertReply(BaseModel):
    upsertedCount: int


def _exactly_one(**present: JsonDict) -> ConfigDict:
    """The routes take exactly one of these fields, counting a field as given when it has this form."""
    branches: list[JsonValue] = [
        {"required": [name], "properties": {name: form}} for name, form in present.items()
    ]
    return ConfigDict(extra="allow", json_schema_extra={"oneOf": branches})


class QueryRequest(_Body):
    model_config = _exactly_one(vector={"type": "array"}, id={"type": "string"})

    topK: int = Field(ge=1, le=MAX_TOP_K)
    vector: list[float] | None = Field(None, description="Exactly one of vector and id")
    id: VectorId | None = None
    namespace: str | None = None
    filter: Filter | None = None
    includeValues: bool = False
    includeMetadata: bool = False
    sparseVector: SparseValues | None = Field(None, description="Only on dotproduct indexes")


class Match(BaseModel):
    id: str
    score: float
    values: list[float]
    sparseValues: SparseValues | None = None
    metadata: dict[str, MetadataValue] | None = None


class QueryReply(BaseModel):
    matches: list[Match]
    namespace: str
    usage: dict[str, int]


class FetchReply(BaseModel):
    vectors: dict[str, Vector]
    namespace: str
    usage: dict[str, int]


class UpdateRequest(_Body):
    model_config = _exactly_one(id={"type": "string"}, filter={"type": "object"})

    id: VectorId | None = Field(None, description="Exactly one of id and filter")
    values: list[float] | None = Field(None, description="Only with id")
    sparseValues: SparseValues | None = Field(None, description="Only with id")
    setMetadata: dict[str, MetadataValue] | None = None
    namespace: str | None = None
    filter: Filter | None = Field(None, description="Sets setMetadata on every record that matches")
    dryRun: bool = Field(False, description="With filter: count the matches, change nothing")


class DeleteRequest(_Body):
    model_config = _exactly_one(ids={"type": "array"}, deleteAll={"const": True}, filter={"type": "object"})

    ids: list[VectorId] | None = Field(
        None, max_length=MAX_FETCH_IDS, description="Exactly one of ids, deleteAll, filter"
    )
    deleteAll: bool | None = False
    filter: Filter | None = None
    namespace: str | None = None


class ListedId(BaseModel):
    id: str


class Pagination(BaseModel):
    next: str


class ListReply(BaseModel):
    vectors: list[ListedId]
    namespace: str
    pagination: Pagination | None = None
    usage: dict[str, int]


class StatsRequest(_Body):
    filter: Filter | None = None


class NamespaceStats(BaseModel):
    vectorCount: int


class StatsReply(BaseModel):
    namespaces: dict[str, NamespaceStats]
    dimension: int
    indexFullness: float
    totalVectorCount: int


Metric = Literal["cosine", "euclidean", "dotproduct"]
Protection = Literal["enabled", "disabled"]


class DenseField(_Body):
    type: Literal["dense_vector"]
    dimension: int = Field(ge=1, le=MAX_DIMENSION)
    metric: Metric | None = None


class IndexSchema(_Body):
    fields: dict[str, DenseField] = Field(min_length=1, max_length=1)


class CreateIndexRequest(_Body):
    """7.x sends ``dimension`` and ``metric``; 10.x sends ``schema``: one of the two is required."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "anyOf": [
                {"required": ["dimension"], "properties": {"dimension": {"type": "integer"}}},
                {"required": ["schema"], "properties": {"schema": {"type": "object"}}},
            ]
        },
    )

    name: IndexName
    dimension: int | None = Field(None, ge=1, le=MAX_DIMENSION)
    metric: Metric | None = None
    schema_: IndexSchema | None = Field(None, alias="schema")
    spec: dict[str, object] | None = None
    deployment: dict[str, object] | None = None
    vector_type: Literal["dense"] | None = None
    deletion_protection: Protection | None = None
    tags: dict[str, str] | None = None


class ConfigureIndexRequest(_Body):
    deletion_protection: Protection | None = None
    tags: dict[str, str] | None = None


class IndexStatus(BaseModel):
    ready: bool
    state: str


class IndexDescription(BaseModel):
    """Both client eras' keys: 7.x reads dimension, metric, host, spec; 10.x schema and deployment."""

    name: str
    dimension: int
    metric: Metric
    host: str
    spec: dict[str, object]
    status: IndexStatus
    deletion_protection: Protection
    schema_: dict[str, object] = Field(alias="schema")
    deployment: dict[str, object]


class IndexList(BaseModel):
    indexes: list[IndexDescription]


class FieldMap(_Body):
    text: str = Field(min_length=1, description="The record field that holds the text to embed")


class EmbedSettings(_Body):
    model: str = Field(description="The inference endpoint or endpoint that embeds the records")
    field_map: FieldMap
    metric: Metric | None = None
    dimension: int | None = None
    read_parameters: dict[str, object] | None = None
    write_parameters: dict[str, object] | None = None
    chunking_settings: dict[str, object] | None = None


class CreateForModelRequest(_Body):
    name: IndexName
    embed: EmbedSettings
    cloud: str | None = None
    region: str | None = None
    deletion_protection: Protection | None = None
    tags: dict[str, str] | None = None
    chunking_settings: dict[str, object] | None = None


class RecordQueryInputs(_Body):
    text: Annotated[str, Field(min_length=1, pattern=r"\S")]


class RecordQuery(_Body):
    inputs: RecordQueryInputs
    top_k: int = Field(ge=1, le=MAX_TOP_K)
    filter: Filter | None = None


class RecordRerank(_Body):
    model: str
    rank_fields: list[str] = Field(min_length=1, max_length=1)
    top_n: int | None = Field(None, ge=1)
    query: str | None = None


class SearchRecordsRequest(_Body):
    query: RecordQuery
    fields: list[str] | None = None
    rerank: RecordRerank | None = None


class RecordHit(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    id: str = Field(alias="_id")
    score: float = Field(alias="_score")
    fields: dict[str, object]


class SearchRecordsResult(BaseModel):
    hits: list[RecordHit]


class SearchRecordsReply(BaseModel):
    result: SearchRecordsResult
    usage: dict[str, int]


class EmbedInput(_Body):
    text: str


class PineconeEmbedRequest(_Body):
    model: str
    inputs: list[EmbedInput | str] = Field(min_length=1)
    parameters: dict[str, object] | None = None


class PineconeRerankRequest(_Body):
    model: str
    query: str
    documents: list[dict[str, object] | str] = Field(min_length=1)
    rank_fields: list[str] | None = Field(None, min_length=1, max_length=1)
    top_n: int | None = Field(None, ge=1)
    return_documents: bool | None = None
    parameters: dict[str, object] | None = None
