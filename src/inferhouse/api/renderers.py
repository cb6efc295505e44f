"""How each wire dialect shapes an error. A 5xx never carries internals: those stay in the log."""

from __future__ import annotations

from typing import Any

from fastapi import Response

from inferhouse.api.responses import json_response
from inferhouse.errors import InferhouseError, ModelLoading, Overloaded, Unauthorized


def _headers(error: InferhouseError) -> dict[str, str] | None:
    if isinstance(error, ModelLoading):
        return {"Retry-After": str(max(1, round(error.estimated_time)))}
    if isinstance(error, Overloaded):
        return {"Retry-After": "1"}
    if isinstance(error, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    return None


def render_hf(error: InferhouseError) -> Response:
    """Hugging Face Inference API, Inference Endpoints and TEI: ``{"error", "error_type"}``."""
    body: dict[str, Any] = {"error": error.message, "error_type": error.kind}
    if isinstance(error, ModelLoading):
        body["estimated_time"] = error.estimated_time
    return json_response(body, error.status_code, _headers(error))


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
    413: ("INVALID_ARGUMENT", 3),
    429: ("RESOURCE_EXHAUSTED", 8),
}


def _pinecone_status(error: InferhouseError) -> int:
    # Pinecone answers every invalid argument with a 400, where the Hugging Face dialects use 422.
    return 400 if error.status_code == 422 else error.status_code


def render_pinecone_control(error: InferhouseError) -> Response:
    """Pinecone's control plane: ``{"error": {"code", "message"}, "status"}``."""
    status = _pinecone_status(error)
    code = _PINECONE_CODES.get(status, ("INTERNAL", 13))[0]
    return json_response({"error": {"code": code, "message": error.message}, "status": status}, status)


def render_pinecone_data(error: InferhouseError) -> Response:
    """Pinecone's data plane (gRPC-style status): ``{"code", "message", "details"}``."""
    status = _pinecone_status(error)
    code = _PINECONE_CODES.get(status, ("INTERNAL", 13))[1]
    return json_response({"code": code, "message": error.message, "details": []}, status)
