"""The namespaces API's request and reply bodies, as the OpenAPI document declares them (see schemas.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from inferhouse.api.pinecone.schemas import Filter, Pagination, Vector

MAX_NAMESPACE_NAME = 512
MAX_NAMESPACE_PAGE = 100
MAX_FETCH_BY_METADATA = 10_000


class NamespaceField(BaseModel):
    model_config = ConfigDict(extra="forbid")

    filterable: Literal[True]


class NamespaceSchema(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fields: dict[str, NamespaceField] = Field(
        description="The metadata fields to index for filtering",
        json_schema_extra={"propertyNames": {"minLength": 1, "pattern": "^[^$]"}},
    )


class CreateNamespaceRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1, max_length=MAX_NAMESPACE_NAME, pattern="^[^\\x00]*$")
    schema_: NamespaceSchema | None = Field(None, alias="schema")


class IndexedFields(BaseModel):
    fields: list[str]


class NamespaceDescription(BaseModel):
    name: str = Field(description='The default namespace is named "__default__"')
    record_count: int
    schema_: NamespaceSchema | None = Field(None, alias="schema")
    indexed_fields: IndexedFields | None = None


class ListNamespacesReply(BaseModel):
    namespaces: list[NamespaceDescription]
    pagination: Pagination | None = None
    total_count: int


class FetchByMetadataRequest(BaseModel):
    model_config = ConfigDict(extra="allow")

    filter: Filter = Field(description="At least one condition")
    namespace: str | None = None
    limit: int = Field(100, ge=1, le=MAX_FETCH_BY_METADATA)
    paginationToken: str | None = None


class FetchByMetadataReply(BaseModel):
    vectors: dict[str, Vector]
    namespace: str
    usage: dict[str, int]
    pagination: Pagination | None = None


class UpdateReply(BaseModel):
    matchedRecords: int | None = Field(None, description="How many records a filter matched")
