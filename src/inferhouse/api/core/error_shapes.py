"""How each wire dialect shapes an error. A 5xx never carries internals: those stay in the log."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from inferhouse.api.core.responses import json_response
from inferhouse.errors import (
    AlreadyExists,
    BackendFailure,
    Conflict,
    Forbidden,
    InferhouseError,
    InvalidJson,
    ModelLoading,
    NotFound,
    Overloaded,
    ProbeFailed,
    SettingsInvalid,
    Unauthorized,
)


def _retry_headers(error: InferhouseError) -> dict[str, str] | None:
    if isinstance(error, ModelLoading):
        return {"Retry-After": str(max(1, round(error.estimated_time)))}
    if isinstance(error, Overloaded):
        return {"Retry-After": str(error.retry_after)}
    return None


def _headers(error: InferhouseError) -> dict[str, str] | None:
    retry = _retry_headers(error)
    if retry is not None:
        return retry
    if isinstance(error, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return None


def render_hf(error: InferhouseError) -> Response:
    """Hugging Face Inference API, Inference Endpoints and TEI: ``{"error", "error_type"}``."""
    body: dict[str, Any] = {"error": error.message, "error_type": error.kind}
    if isinstance(error, ModelLoading):
        body["estimated_time"] = error.estimated_time
    return json_response(body, error.status_code, _headers(error))


def tgi_error_type(error: InferhouseError) -> str:
    """TGI calls a model failure ``generation``; huggingface_hub turns that into GenerationError."""
    return "generation" if isinstance(error, BackendFailure) else error.kind


def render_tgi(error: InferhouseError) -> Response:
    """``{"error", "error_type"}`` as :func:`render_hf`, with TGI's name for a failed generation."""
    if isinstance(error, BackendFailure):
        return json_response({"error": error.message, "error_type": "generation"}, error.status_code)
    return render_hf(error)


_OPENAI_TYPES = {401: "authentication_error", 403: "permission_error", 429: "rate_limit_error"}


def render_openai(error: InferhouseError) -> Response:
    """OpenAI: ``{"error": {"message", "type", "param", "code"}}``."""
    status = error.status_code
    kind = _OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {"error": {"message": error.message, "type": kind, "param": None, "code": error.kind}}
    return json_response(body, status, _headers(error))


_PINECONE_CODES = {
    400: ("INVALID_ARGUMENT", 3),
    401: ("UNAUTHENTICATED", 16),
    403: ("FORBIDDEN", 7),
    404: ("NOT_FOUND", 5),
    405: ("INVALID_ARGUMENT", 3),
    409: ("ALREADY_EXISTS", 6),
    412: ("FAILED_PRECONDITION", 9),
    413: ("INVALID_ARGUMENT", 3),
    429: ("RESOURCE_EXHAUSTED", 8),
}


# A write that lost a race (gRPC's ABORTED), where Pinecone's 409 otherwise means the name exists.
_PINECONE_CONFLICT = ("ABORTED", 10)


def _pinecone_code(error: InferhouseError, status: int) -> tuple[str, int]:
    if isinstance(error, Conflict):
        return _PINECONE_CONFLICT
    return _PINECONE_CODES.get(status, ("INTERNAL", 13))


def _pinecone_status(error: InferhouseError) -> int:
    # Pinecone answers every invalid argument with a 400, where the Hugging Face dialects use 422.
    return 400 if error.status_code == 422 else error.status_code


def render_pinecone_control(error: InferhouseError) -> Response:
    """Pinecone's control plane: ``{"error": {"code", "message"}, "status"}``."""
    status = _pinecone_status(error)
    code = _pinecone_code(error, status)[0]
    body = {"error": {"code": code, "message": error.message}, "status": status}
    return json_response(body, status, _retry_headers(error))


def render_pinecone_data(error: InferhouseError) -> Response:
    """Pinecone's data plane (gRPC-style status): ``{"code", "message", "details"}``."""
    status = _pinecone_status(error)
    code = _pinecone_code(error, status)[1]
    return json_response(
        {"code": code, "message": error.message, "details": []}, status, _retry_headers(error)
    )


def _elasticsearch_type(error: InferhouseError) -> str:
    if isinstance(error, SettingsInvalid):
        return "validation_exception"
    if isinstance(error, NotFound):
        return "resource_not_found_exception"
    if isinstance(error, AlreadyExists):
        return "resource_already_exists_exception"
    if isinstance(error, Conflict):
        return "version_conflict_engine_exception"
    if isinstance(error, InvalidJson):
        return "x_content_parse_exception"
    if isinstance(error, Unauthorized | Forbidden):
        return "security_exception"
    return "status_exception"


def _elasticsearch_status(error: InferhouseError) -> int:
    # Elasticsearch answers an id that exists already, and every rejected setting, with a 400.
    if isinstance(error, AlreadyExists) or error.status_code == 422:
        return 400
    return error.status_code


def render_elasticsearch(error: InferhouseError) -> Response:
    """Elasticsearch: ``{"error": {"root_cause": [...], "type", "reason", "caused_by"?}, "status"}``."""
    status = _elasticsearch_status(error)
    cause = error.cause if isinstance(error, ProbeFailed) else None
    outer = {"type": _elasticsearch_type(error), "reason": error.message}
    root = {"type": _elasticsearch_type(cause), "reason": cause.message} if cause is not None else outer
    body: dict[str, Any] = {"root_cause": [root], **outer}
    if cause is not None:
        body["caused_by"] = root
    return json_response({"error": body, "status": status}, status, _headers(error))
