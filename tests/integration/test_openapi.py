"""The OpenAPI document describes every route as it behaves, and 405 replies say what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from inferhouse.settings import ENDPOINT_NAME_PATTERN
from tests.conftest import TINY_ID
from tests.support.inprocess import InProcessServer

METHODS = {"get", "put", "post", "delete", "patch"}


@pytest.fixture(scope="module")
def server(app_server: InProcessServer) -> InProcessServer:
    """Nothing here needs a socket: the app runs in this process."""
    return app_server


@pytest.fixture(scope="module")
def document(server: InProcessServer) -> dict[str, Any]:
    reply = server.http.get(server.url + "/openapi.json", timeout=30)
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
    server: InProcessServer, method: str, path: str, allowed: str
) -> None:
    reply = server.http.request(method, server.url + path, headers=server.headers, timeout=30)
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


def test_create_index_refuses_schema_fields_that_are_not_an_object(server: InProcessServer) -> None:
    # Found by schemathesis: a list here was a 500 with a logged traceback.
    body = {"name": "fields-as-list", "schema": {"fields": [None, None]}}
    reply = server.http.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "schema.fields must be an object of named fields"
    assert "Traceback" not in server.log()


def test_update_endpoint_with_a_null_model_is_refused(server: InProcessServer) -> None:
    # Found by schemathesis: a null model (or any non-object) was a 500 with a logged traceback.
    url = server.url + "/v2/endpoint/local/tiny-features"
    before = server.http.get(url, headers=server.headers, timeout=30).json()
    reply = server.http.put(url, json={"model": None}, headers=server.headers, timeout=30)
    assert reply.status_code == 422
    assert reply.json()["error_type"] == "validation"
    assert server.http.get(url, headers=server.headers, timeout=30).json()["model"] == before["model"]
    assert "Traceback" not in server.log()


def test_allow_names_the_methods_of_the_most_specific_path(server: InProcessServer) -> None:
    # /indexes/create-for-model also matches /indexes/{name}; its Allow listed that path's methods too.
    reply = server.http.options(server.url + "/indexes/create-for-model", headers=server.headers, timeout=30)
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


# What schemathesis found the server and its document disagreeing on (test_schemathesis.py runs it whole).


@pytest.mark.parametrize("method", ["GET", "DELETE", "PATCH"])
def test_create_for_model_answers_other_methods_with_405(server: InProcessServer, method: str) -> None:
    # GET fell through to /indexes/{name} and looked for an index named create-for-model.
    reply = server.http.request(
        method, server.url + "/indexes/create-for-model", headers=server.headers, timeout=30
    )
    assert reply.status_code == 405
    assert reply.headers["Allow"] == "POST"


def test_no_index_is_named_after_the_create_for_model_route(server: InProcessServer) -> None:
    body = {"name": "create-for-model", "dimension": 4, "metric": "cosine"}
    reply = server.http.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30)
    assert reply.status_code == 400
    assert "create-for-model" in reply.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (f"/models/{TINY_ID}", {"inputs": "a", "options": {"wait_for_model": 0}}),
        (f"/models/{TINY_ID}/pipeline/feature-extraction", {"inputs": "a", "options": {"use_cache": "true"}}),
        ("/endpoints/tiny-features/embed", {"inputs": "a", "truncate": 0}),
        ("/endpoints/tiny-features/embed", {"inputs": "a", "normalize": "false"}),
        ("/endpoints/tiny-features", {"inputs": "a", "stream": {}}),
        ("/endpoints/tiny-features/predict", {"inputs": "a", "stream": 1}),
        ("/endpoints/tiny-features", {"inputs": None}),
        ("/endpoints/tiny-features/embed", {"inputs": "a", "dimensions": "4"}),
        ("/endpoints/tiny-features/embed", {"inputs": "a", "dimensions": True}),
        ("/endpoints/tiny-features/v1/embeddings", {"input": "a", "dimensions": "4"}),
    ],
)
def test_hugging_face_bodies_take_json_booleans_and_numbers_only(
    server: InProcessServer, path: str, body: dict[str, Any]
) -> None:
    # Pydantic's lax mode took 0, 1 and "true" as booleans and "4" or true as integers.
    reply = server.http.post(server.url + path, json=body, headers=server.headers, timeout=60)
    assert reply.status_code == 422, reply.text


def test_an_integer_may_be_written_with_a_zero_fraction(server: InProcessServer) -> None:
    # JSON Schema's integer includes 8.0, which the document allows; the server refused it.
    body = {"name": "whole-float", "dimension": 8.0, "metric": "cosine"}
    reply = server.http.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30)
    assert reply.status_code == 201, reply.text
    assert reply.json()["dimension"] == 8
    query = {"vector": [1.0] * 8, "topK": 2.0}
    found = server.http.post(
        server.url + "/indexes/whole-float/query", json=query, headers=server.headers, timeout=30
    )
    assert found.status_code == 200, found.text
    embed = {"inputs": "a", "dimensions": 4.0}
    vectors = server.http.post(
        server.url + "/endpoints/tiny-features/embed", json=embed, headers=server.headers, timeout=60
    )
    assert vectors.status_code == 200, vectors.text
    assert len(vectors.json()[0]) == 4


def test_an_empty_inputs_list_is_refused_by_every_task(server: InProcessServer) -> None:
    reply = server.http.post(
        server.url + "/endpoints/tiny-features/predict",
        json={"inputs": []},
        headers=server.headers,
        timeout=30,
    )
    assert reply.status_code == 400
    assert reply.json()["error_type"] == "empty"


def test_query_refuses_null_flags(server: InProcessServer) -> None:
    body = {"name": "null-flags", "dimension": 2, "metric": "cosine"}
    assert (
        server.http.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30).status_code
        == 201
    )
    for name in ("includeMetadata", "includeValues"):
        query = {"vector": [1.0, 0.0], "topK": 1, name: None}
        reply = server.http.post(
            server.url + "/indexes/null-flags/query", json=query, headers=server.headers, timeout=30
        )
        assert reply.status_code == 400, (name, reply.text)
        assert name in reply.json()["message"]


def test_describe_index_stats_refuses_a_null_body_but_takes_none(server: InProcessServer) -> None:
    body = {"name": "stats-null", "dimension": 2, "metric": "cosine"}
    assert (
        server.http.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30).status_code
        == 201
    )
    url = server.url + "/indexes/stats-null/describe_index_stats"
    headers = {**server.headers, "Content-Type": "application/json"}
    assert server.http.post(url, content=b"null", headers=headers, timeout=30).status_code == 400
    assert server.http.post(url, headers=server.headers, timeout=30).status_code == 200


def test_similarity_documents_and_takes_its_own_body(
    server: InProcessServer, document: dict[str, Any]
) -> None:
    # The document gave /similarity the generic body, whose inputs may be a string; only a pair is taken.
    schema = _body_schema(document, "post", "/endpoints/{name}/similarity")
    assert schema["properties"]["inputs"] == {"$ref": "#/components/schemas/SimilarityInputs"}
    sentences = document["components"]["schemas"]["SimilarityInputs"]["properties"]["sentences"]
    assert sentences["minItems"] == 1
    url = server.url + "/endpoints/tiny-features/similarity"
    pair = {"inputs": {"source_sentence": "a", "sentences": ["a", "b"]}}
    assert server.http.post(url, json=pair, headers=server.headers, timeout=60).status_code == 200
    assert server.http.post(url, json={"inputs": "a"}, headers=server.headers, timeout=60).status_code == 422


def test_documented_forms_match_what_the_routes_take(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    # An unknown model on /v1/embeddings is a 404, in OpenAI's shape.
    not_found = document["paths"]["/v1/embeddings"]["post"]["responses"]["404"]
    assert not_found["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OpenAIError"}
    # The endpoint name's pattern, and an update's fields in their create-time forms (none may be null).
    create = _body_schema(document, "post", "/v2/endpoint/{namespace}")
    assert create["properties"]["name"]["pattern"] == ENDPOINT_NAME_PATTERN
    update = _body_schema(document, "put", "/v2/endpoint/{namespace}/{name}")
    assert "name" not in update["properties"]
    assert "required" not in update
    assert "null" not in str(update["properties"]["type"])
    assert update["properties"]["model"] == {"$ref": "#/components/schemas/ModelChanges"}
    assert schemas["ModelChanges"]["properties"]["repository"]["minLength"] == 1
    assert "required" not in schemas["ModelChanges"]
    # A JSON Schema pattern matches anywhere in the string: the index name's is anchored.
    pattern = schemas["CreateIndexRequest"]["properties"]["name"]["pattern"]
    assert pattern.startswith("^")
    assert pattern.endswith("$")
    # Records upsert declares its NDJSON lines as an array of records, one a line.
    ndjson = document["paths"]["/indexes/{index_name}/records/namespaces/{namespace}/upsert"]["post"]
    records = ndjson["requestBody"]["content"]["application/x-ndjson"]["schema"]
    assert records["type"] == "array"
    assert records["items"]["type"] == "object"
    # Toolkit inputs are never null nor an empty list.
    inputs = _body_schema(document, "post", "/endpoints/{name}")["properties"]["inputs"]
    assert "null" not in inputs["type"]
    assert inputs["minItems"] == 1


@pytest.mark.parametrize("value", [False, "1", 1.5])
def test_endpoint_scaling_takes_json_integers_only(server: InProcessServer, value: object) -> None:
    # minReplica false was taken as 0 and the endpoint updated.
    url = server.url + "/v2/endpoint/local/tiny-features"
    before = server.http.get(url, headers=server.headers, timeout=30).json()["compute"]
    changes = {"compute": {"scaling": {"minReplica": value}}}
    reply = server.http.put(url, json=changes, headers=server.headers, timeout=30)
    assert reply.status_code == 422, reply.text
    assert server.http.get(url, headers=server.headers, timeout=30).json()["compute"] == before
