"""The OpenAPI document, built in one place from the routes and what their dialects really do.

FastAPI writes the paths, parameters and pydantic bodies. This module adds what it cannot see:

- bodies that routes parse themselves (orjson, for speed) are declared with :func:`json_body`;
- every operation lists the errors it can answer, each in its dialect's shape and status, rendered by
  that dialect's own renderer (so Pinecone's and Elasticsearch's 422-becomes-400 is never restated);
- every operation names who may call it: the ``bearer`` or ``apiKey`` scheme, or anyone.

Which errors an operation lists follows from its shape: a token check (401, 403), path parameters
(404), a body or query (400, 413, 422), plus what its family's work can fail with (:data:`_FAMILY`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel

from inferhouse.errors import (
    AlreadyExists,
    BackendFailure,
    BadRequest,
    FailedPrecondition,
    Forbidden,
    InferhouseError,
    NotFound,
    Overloaded,
    PayloadTooLarge,
    Unauthorized,
    Unavailable,
    UpstreamError,
    ValidationFailed,
)

SCHEMA_REF = "#/components/schemas/{model}"

SECURITY_SCHEMES: dict[str, Any] = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An inferhouse token: `Authorization: Bearer <token>`.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Api-Key",
        "description": "The same token as `Api-Key: <token>`, as the Pinecone clients send it.",
    },
}
_TOKEN: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
# An endpoint's own access type decides: a public endpoint serves anonymous callers too.
_TOKEN_OR_ANONYMOUS = [*_TOKEN, {}]

_TEXT = {"type": "string"}
_ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "HuggingFaceError": {
        "type": "object",
        "description": "Hugging Face, TEI and TGI errors.",
        "required": ["error", "error_type"],
        "properties": {"error": _TEXT, "error_type": _TEXT, "estimated_time": {"type": "number"}},
    },
    "OpenAIError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "param", "code"],
                "properties": {
                    "message": _TEXT,
                    "type": _TEXT,
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
    "PineconeControlError": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": _TEXT, "message": _TEXT},
            },
            "status": {"type": "integer"},
        },
    },
    "PineconeDataError": {
        "type": "object",
        "description": "Pinecone's data plane answers with a gRPC-style status.",
        "required": ["code", "message", "details"],
        "properties": {"code": {"type": "integer"}, "message": _TEXT, "details": {"type": "array"}},
    },
    "ElasticsearchError": {
        "type": "object",
        "required": ["error", "status"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["root_cause", "type", "reason"],
                "properties": {
                    "root_cause": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["type", "reason"],
                            "properties": {"type": _TEXT, "reason": _TEXT},
                        },
                    },
                    "type": _TEXT,
                    "reason": _TEXT,
                    "caused_by": {"type": "object"},
                },
            },
            "status": {"type": "integer"},
        },
    },
}

# One error of each status, rendered by each dialect for the document's examples and statuses.
_SAMPLES: dict[int, InferhouseError] = {
    400: BadRequest("The body is not valid JSON"),
    401: Unauthorized("Missing token: send 'Authorization: Bearer <token>'"),
    403: Forbidden("This token may not do this"),
    404: NotFound("Not found"),
    409: AlreadyExists("Resource already exists"),
    412: FailedPrecondition("The backup is still being taken"),
    413: PayloadTooLarge("Request body is over the limit"),
    422: ValidationFailed("Invalid request: inputs: Field required"),
    424: BackendFailure("The model failed on this input"),
    429: Overloaded("Model is overloaded"),
    502: UpstreamError("The remote inference service failed"),
    503: Unavailable("The endpoint is not serving"),
}

# What each family's work can fail with, beyond the request's own shape and its token.
_MODEL_WORK = frozenset({424, 429, 503})
_FAMILY: dict[str, frozenset[int]] = {
    "Endpoint management": frozenset({409}),
    "Hugging Face": _MODEL_WORK,
    "TEI": _MODEL_WORK,
    "TGI": _MODEL_WORK,
    # The root routes name their model in the body: one this server does not have is a 404.
    "OpenAI": _MODEL_WORK | {404},
    "Elasticsearch inference API": _MODEL_WORK | {409, 502},
    "Pinecone integrated inference": _MODEL_WORK | {409, 502},
    "Pinecone control plane": frozenset({409}),
    "Pinecone namespaces": frozenset({409}),
    # A restore into a name that exists; a backup not ready to restore, or read by a running restore.
    "Pinecone backups": frozenset({409, 412}),
}


# A reply that is JSON, or server-sent events when the request asks to stream.
JSON_OR_EVENTS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The reply, or its events when stream is true",
        "content": {"application/json": {"schema": {}}, "text/event-stream": {"schema": {"type": "string"}}},
    }
}


def json_body(model: type[BaseModel], *, required: bool = True, media_type: str = "application/json") -> Any:
    """``openapi_extra`` declaring ``model`` as the body of a route that parses its body itself."""
    schema = model.model_json_schema(ref_template=SCHEMA_REF)
    definitions = schema.pop("$defs", {})
    definitions[model.__name__] = schema
    content = {
        media_type: {"schema": {"$ref": SCHEMA_REF.format(model=model.__name__), "$defs": definitions}}
    }
    return {"requestBody": {"required": required, "content": content}}


def replies(model: Any = None, *, status: int = 200, media_type: str = "application/json") -> Any:
    """``responses`` for a success reply: a pydantic model, a JSON schema, or a body of another media type."""
    if model is None:
        return {status: {"description": "Success", "content": {media_type: {"schema": {}}}}}
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {status: {"description": "Success", "model": model}}
    return {status: {"description": "Success", "content": {media_type: {"schema": model}}}}


def install(app: FastAPI) -> None:
    """Serve :func:`document` as the app's ``/openapi.json``, built on first request."""
    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not built:
            built.update(document(app))
        return built

    app.openapi = openapi  # type: ignore[method-assign]


def document(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
    )
    schemas: dict[str, Any] = doc.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's own validation error shape is never sent: every dialect renders its own.
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    schemas.update(_ERROR_SCHEMAS)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        for method in context.methods or ():
            operation = doc["paths"][str(context.path_format)][method.lower()]
            _hoist_definitions(operation, schemas)
            _describe_errors(operation, route, method)
            _describe_security(operation, route)
    return doc


def _hoist_definitions(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    for media in operation.get("requestBody", {}).get("content", {}).values():
        _hoist(media.get("schema", {}), schemas)


def _hoist(schema: Any, schemas: dict[str, Any]) -> None:
    """Move every nested ``$defs`` (from :func:`json_body` and ``WithJsonSchema``) into components."""
    if isinstance(schema, dict):
        for name, definition in schema.pop("$defs", {}).items():
            # Two bodies of one name would share one schema: the second would describe the first's route.
            if schemas.setdefault(name, definition) != definition:
                raise ValueError(f"Two request bodies are named {name}: rename one")
            _hoist(definition, schemas)
        for value in schema.values():
            _hoist(value, schemas)
    elif isinstance(schema, list):
        for value in schema:
            _hoist(value, schemas)


def _describe_errors(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    render: Callable[[InferhouseError], Any] | None = getattr(route, "renderer", None)
    if render is None:
        return
    policy = getattr(route, "auth_policy", "general")
    statuses: set[int] = set()
    if policy != "public":
        statuses |= {401, 403}
    parameters = operation.get("parameters", [])
    if any(parameter["in"] == "path" for parameter in parameters) or policy == "endpoint":
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {400, 413, 422}
    # A query, or a path parameter with a documented form (a task type), can be refused as malformed.
    constrained = [p for p in parameters if p["in"] == "query" or {"enum", "pattern"} & set(p["schema"])]
    if constrained:
        statuses |= {400, 422}
    family = set().union(*(_FAMILY.get(str(tag), frozenset()) for tag in route.tags))
    # Reads fail only as the model's state does (503); conflicts and model work are for writes and calls.
    statuses |= family if method not in ("GET", "DELETE") else family & {503}
    shape = {"$ref": SCHEMA_REF.format(model=_shape_name(render))}
    responses: dict[str, Any] = operation["responses"]
    responses.pop("422", None)  # FastAPI's HTTPValidationError, replaced below in the dialect's shape
    for status in sorted(statuses):
        rendered = render(_SAMPLES[status])
        code = str(rendered.status_code)
        example = orjson.loads(rendered.body)
        described = responses.setdefault(code, {"description": _describe(rendered.status_code)})
        described.setdefault("content", {}).setdefault(
            "application/json", {"schema": shape, "example": example}
        )
    operation["responses"] = dict(sorted(responses.items()))


def _describe(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase


def _shape_name(render: Callable[[InferhouseError], Any]) -> str:
    """The error schema a renderer writes; it is found by rendering, so a new dialect must be named."""
    body = orjson.loads(render(_SAMPLES[404]).body)
    if "details" in body:
        return "PineconeDataError"
    error = body.get("error")
    if isinstance(error, str):
        return "HuggingFaceError"
    if "root_cause" in error:
        return "ElasticsearchError"
    if "status" in body:
        return "PineconeControlError"
    return "OpenAIError"


def _describe_security(operation: dict[str, Any], route: APIRoute) -> None:
    policy = getattr(route, "auth_policy", "general")
    if policy == "public":
        operation["security"] = []
    elif policy == "endpoint":
        operation["security"] = _TOKEN_OR_ANONYMOUS
    else:
        operation["security"] = _TOKEN
