"""The SDK's transport: one httpx client, error replies turned into :class:`InferhouseAPIError`, and the
URL helpers every API family shares."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8080"

# The data plane answers with gRPC status numbers; name them as the control plane does.
_GRPC_CODES = {
    3: "INVALID_ARGUMENT",
    5: "NOT_FOUND",
    6: "ALREADY_EXISTS",
    7: "FORBIDDEN",
    8: "RESOURCE_EXHAUSTED",
    13: "INTERNAL",
    16: "UNAUTHENTICATED",
}


class InferhouseAPIError(Exception):
    """The server answered with an error; ``status_code`` and ``kind`` say which."""

    def __init__(self, status_code: int, message: str, kind: str | None) -> None:
        super().__init__(f"{status_code} {kind or 'error'}: {message}")
        self.status_code = status_code
        self.message = message
        self.kind = kind


class Transport:
    """Sends requests for every API family of :class:`~inferhouse.client.Client`."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        http_client: httpx.Client | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = http_client or httpx.Client(base_url=base_url, timeout=timeout)
        self._http.headers.update(headers)

    def _post(self, path: str, body: Mapping[str, Any]) -> Any:
        return self._request("POST", path, json=body)

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.is_error:
            raise api_error(response)
        return response

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def segment(name: str) -> str:
    return quote(name, safe="")


def index_path(index: str) -> str:
    return f"/indexes/{segment(index)}"


def api_error(response: httpx.Response) -> InferhouseAPIError:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    message, kind = _error_fields(payload)
    return InferhouseAPIError(response.status_code, message or response.text or response.reason_phrase, kind)


def _error_fields(payload: object) -> tuple[str | None, str | None]:
    """Message and kind from any of the server's error dialects."""
    if not isinstance(payload, dict):
        return None, None
    error = payload.get("error")
    if isinstance(error, dict) and "reason" in error:  # Elasticsearch {"error": {"type", "reason"}}
        return _text(error["reason"]), _text(error.get("type"))
    if isinstance(error, dict):  # Pinecone control plane {"error": {"code", "message"}}, or OpenAI
        return _text(error.get("message")), _text(error.get("code"))
    if isinstance(error, str):  # Hugging Face and TEI {"error", "error_type"}
        return error, _text(payload.get("error_type"))
    if "message" in payload:  # Pinecone data plane {"code", "message", "details"}
        code = payload.get("code")
        return _text(payload["message"]), _GRPC_CODES.get(code, _text(code)) if code is not None else None
    return None, None


def _text(value: object) -> str | None:
    return None if value is None else str(value)
