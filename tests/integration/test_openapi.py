"""The OpenAPI document describes every route as it behaves, and 405 replies say what is allowed."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.support.server import RunningServer

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def document(server: RunningServer) -> dict[str, Any]:
    reply = requests.get(server.url + "/openapi.json", timeout=30)
    assert reply.status_code == 200
    found: dict[str, Any] = reply.json()
    return found


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/indexes", "GET, POST"),
        ("PUT", "/health", "GET"),
        ("PATCH", "/v2/endpoint/local/some-endpoint", "DELETE, GET, PUT"),
        ("GET", "/indexes/some-index/query", "POST"),
        ("PUT", "/indexes/some-index/describe_index_stats", "GET, POST"),
    ],
)
def test_method_not_allowed_lists_every_method_of_the_path(
    server: RunningServer, method: str, path: str, allowed: str
) -> None:
    reply = requests.request(method, server.url + path, headers=server.headers, timeout=30)
    assert reply.status_code == 405
    assert reply.headers["Allow"] == allowed
    assert reply.json()["error_type"] == "method_not_allowed"


def test_every_operation_names_who_may_call_it(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["bearer"]["description"],
    }
    assert (schemes["apiKey"]["in"], schemes["apiKey"]["name"]) == ("header", "Api-Key")
    for method, path, operation in _operations(document):
        security = operation["security"]
        if path == "/health":
            assert security == []
        else:
            assert {"bearer": []} in security, (method, path)
            assert {"apiKey": []} in security, (method, path)


def test_routes_that_read_a_body_declare_it(document: dict[str, Any]) -> None:
    reads_nothing = {
        ("post", "/v2/endpoint/{namespace}/{name}/pause"),
        ("post", "/v2/endpoint/{namespace}/{name}/resume"),
        ("post", "/v2/endpoint/{namespace}/{name}/scale-to-zero"),
    }
    for method, path, operation in _operations(document):
        if method in {"post", "put", "patch"} and (method, path) not in reads_nothing:
            assert "requestBody" in operation, (method, path)
    upsert = document["paths"]["/indexes/{index_name}/vectors/upsert"]["post"]["requestBody"]
    schema = upsert["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/UpsertRequest"}
    assert "vectors" in document["components"]["schemas"]["UpsertRequest"]["required"]


def test_routes_missing_before_are_documented(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "post" in paths["/endpoints/{name}/predict"]
    assert "get" in paths["/endpoints/{name}"]
    assert "get" in paths["/indexes/{index_name}/describe_index_stats"]


@pytest.mark.parametrize(
    ("method", "path", "status", "shape"),
    [
        ("post", "/endpoints/{name}/embed", "422", "HuggingFaceError"),
        ("post", "/v1/embeddings", "422", "OpenAIError"),
        ("post", "/indexes", "400", "PineconeControlError"),
        ("post", "/indexes/{index_name}/query", "400", "PineconeDataError"),
        ("put", "/_inference/{task_type}/{inference_id}", "400", "ElasticsearchError"),
    ],
)
def test_errors_are_documented_in_each_dialects_shape(
    document: dict[str, Any], method: str, path: str, status: str, shape: str
) -> None:
    responses = document["paths"][path][method]["responses"]
    declared = responses[status]["content"]["application/json"]
    assert declared["schema"] == {"$ref": f"#/components/schemas/{shape}"}
    assert {"401", "403"} <= set(responses)
    # Pinecone and Elasticsearch answer a rejected value with a 400, never FastAPI's 422 shape.
    if shape.startswith(("Pinecone", "Elasticsearch")):
        assert "422" not in responses
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_create_index_refuses_schema_fields_that_are_not_an_object(server: RunningServer) -> None:
    # Found by schemathesis: a list here was a 500 with a logged traceback.
    body = {"name": "fields-as-list", "schema": {"fields": [None, None]}}
    reply = requests.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "schema.fields must be an object of named fields"
    assert "Traceback" not in server.log()


def test_update_endpoint_with_a_null_model_is_refused(server: RunningServer) -> None:
    # Found by schemathesis: a null model (or any non-object) was a 500 with a logged traceback.
    url = server.url + "/v2/endpoint/local/tiny-features"
    before = requests.get(url, headers=server.headers, timeout=30).json()
    reply = requests.put(url, json={"model": None}, headers=server.headers, timeout=30)
    assert reply.status_code == 422
    assert reply.json()["error_type"] == "validation"
    assert requests.get(url, headers=server.headers, timeout=30).json()["model"] == before["model"]
    assert "Traceback" not in server.log()


def test_allow_names_the_methods_of_the_most_specific_path(server: RunningServer) -> None:
    # /indexes/create-for-model also matches /indexes/{name}; its Allow listed that path's methods too.
    reply = requests.options(server.url + "/indexes/create-for-model", headers=server.headers, timeout=30)
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "POST"


def _body_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    reference = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    found: dict[str, Any] = document["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]
    return found


def test_each_route_documents_its_own_body(document: dict[str, Any]) -> None:
    # Pinecone's /embed and /rerank bodies shared TEI's schema names and replaced them in the document.
    tei_embed = _body_schema(document, "post", "/endpoints/{name}/embed")
    assert "inputs" in tei_embed["required"]
    assert "model" not in tei_embed["properties"]
    tei_rerank = _body_schema(document, "post", "/endpoints/{name}/rerank")
    assert {"query", "texts"} <= set(tei_rerank["required"])
    pinecone_embed = _body_schema(document, "post", "/embed")
    assert {"model", "inputs"} <= set(pinecone_embed["required"])


def test_bodies_document_what_the_routes_require(document: dict[str, Any]) -> None:
    query = _body_schema(document, "post", "/indexes/{index_name}/query")
    assert [branch["required"] for branch in query["oneOf"]] == [["vector"], ["id"]]
    delete = _body_schema(document, "post", "/indexes/{index_name}/vectors/delete")
    assert [branch["required"] for branch in delete["oneOf"]] == [["ids"], ["deleteAll"], ["filter"]]
    assert "model" in _body_schema(document, "post", "/v1/embeddings")["required"]
    assert "model" in _body_schema(document, "post", "/v1/chat/completions")["required"]
    create = _body_schema(document, "post", "/indexes")
    assert {"type": "integer"} in [branch["properties"].get("dimension") for branch in create["anyOf"]]
