from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

DEFAULT_BASE_URL = "http://127.0.0.1:8080"
DEFAULT_ENDPOINT = "all-minilm-l6-v2"


class InferhouseAPIError(Exception):
    """The server answered with an error; ``status_code`` and ``kind`` say which."""

    def __init__(self, status_code: int, message: str, kind: str | None) -> None:
        super().__init__(f"{status_code} {kind or 'error'}: {message}")
        self.status_code = status_code
        self.message = message
        self.kind = kind


class Client:
    """Talks to one inferhouse server. Pass ``http_client`` to control transport, timeouts or pooling."""

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

    def embed(
        self,
        texts: str | list[str],
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        normalize: bool = True,
        truncate: bool = True,
        dimensions: int | None = None,
    ) -> list[list[float]]:
        """Embed ``texts`` with the endpoint's model; always returns one vector per text."""
        body: dict[str, Any] = {"inputs": texts, "normalize": normalize, "truncate": truncate}
        if dimensions is not None:
            body["dimensions"] = dimensions
        reply: list[list[float]] = self._post(f"/endpoints/{endpoint}/embed", body)
        return reply

    def _post(self, path: str, body: dict[str, Any]) -> Any:
        response = self._http.post(path, json=body)
        if response.is_error:
            try:
                payload = response.json()
            except ValueError:
                payload = {"error": response.text}
            error = payload.get("error") if isinstance(payload, dict) else None
            message = error.get("message") if isinstance(error, dict) else error
            kind = payload.get("error_type") if isinstance(payload, dict) else None
            raise InferhouseAPIError(response.status_code, str(message or response.reason_phrase), kind)
        return response.json()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
