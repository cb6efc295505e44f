"""Every bad input gets the right 4xx, in the error shape of the dialect it came through."""

from __future__ import annotations

import httpx
import pytest

from tests.support.inprocess import InProcessServer

ENDPOINT = "/endpoints/all-minilm-l6-v2"


@pytest.fixture
def server(app_server: InProcessServer) -> InProcessServer:
    """Nothing here needs a socket: the app runs in this process."""
    return app_server


def _post(server: InProcessServer, path: str, **kwargs: object) -> httpx.Response:
    headers = kwargs.pop("headers", server.headers)
    return server.http.post(server.url + path, headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("body", "status", "kind", "fragment"),
    [
        ({"inputs": []}, 400, "empty", "inputs cannot be empty"),
        ({"inputs": ["ok", 3]}, 422, "validation", "inputs.1: Input should be a valid string"),
        (
            {"inputs": [f"t{i}" for i in range(257)]},
            422,
            "validation",
            "batch size 257 > maximum allowed batch size 256",
        ),
        ({"text": "no inputs"}, 422, "validation", 'takes a body {"inputs": ..., "parameters": {...}}'),
        ({"inputs": {"source_sentence": "a", "sentences": ["b"]}}, 422, "validation", "sentence-embeddings"),
        ({"inputs": ["x"], "truncate": False, "dimensions": 0}, 422, "validation", "dimensions"),
    ],
)
def test_bad_bodies(server: InProcessServer, body: object, status: int, kind: str, fragment: str) -> None:
    res = _post(server, ENDPOINT, json=body)
    assert res.status_code == status, res.text
    assert res.json()["error_type"] == kind
    assert fragment in res.json()["error"]


def test_bad_json(server: InProcessServer) -> None:
    res = _post(
        server,
        ENDPOINT,
        content=b'{"inputs": [',
        headers={**server.headers, "content-type": "application/json"},
    )
    assert res.status_code == 400
    assert res.json()["error_type"] == "invalid_json"


def test_huge_body(server: InProcessServer) -> None:
    res = _post(server, ENDPOINT, json={"inputs": ["x" * (3 * 1024 * 1024)]})
    assert res.status_code == 413
    assert "over the limit of 2097152 bytes" in res.json()["error"]


def test_huge_chunked_body_without_length(server: InProcessServer) -> None:
    def chunks():  # type: ignore[no-untyped-def]
        yield b'{"inputs": ["'
        for _ in range(40):
            yield b"y" * 65536
        yield b'"]}'

    res = _post(
        server, ENDPOINT, content=chunks(), headers={**server.headers, "content-type": "application/json"}
    )
    assert res.status_code == 413


def test_unknown_endpoint(server: InProcessServer) -> None:
    res = _post(server, "/endpoints/nope", json={"inputs": ["x"]})
    assert res.status_code == 404
    assert res.json() == {"error": "Endpoint nope not found", "error_type": "not_found"}


def test_unknown_model(server: InProcessServer) -> None:
    res = _post(server, "/models/nobody/nothing", json={"inputs": "x"})
    assert res.status_code == 404
    assert "nobody/nothing not found" in res.json()["error"]


def test_unknown_pipeline_task(server: InProcessServer) -> None:
    res = _post(
        server, "/models/sentence-transformers/all-MiniLM-L6-v2/pipeline/summarization", json={"inputs": "x"}
    )
    assert res.status_code == 400
    assert "summarization" in res.json()["error"]


def test_no_token(server: InProcessServer) -> None:
    res = _post(server, ENDPOINT, json={"inputs": ["x"]}, headers={})
    assert res.status_code == 401
    assert "Missing token" in res.json()["error"]
    assert res.headers["www-authenticate"] == "Bearer"


def test_wrong_token(server: InProcessServer) -> None:
    res = _post(server, ENDPOINT, json={"inputs": ["x"]}, headers={"Authorization": "Bearer wrong"})
    assert res.status_code == 401
    assert res.json()["error"] == "Invalid token"


def test_token_is_checked_before_the_body(server: InProcessServer) -> None:
    res = _post(server, ENDPOINT, content=b"{not json", headers={"Authorization": "Basic abc"})
    assert res.status_code == 401
    assert "Bearer" in res.json()["error"]


def test_unknown_route(server: InProcessServer) -> None:
    res = server.http.get(server.url + "/nowhere")
    assert res.status_code == 404
    assert res.json()["error_type"] == "not_found"


def test_openai_dialect_error_shape(server: InProcessServer) -> None:
    res = _post(server, "/v1/embeddings", json={"model": "all-minilm-l6-v2", "input": []})
    assert res.status_code == 400
    error = res.json()["error"]
    assert error["message"] == "inputs cannot be empty"
    assert error["type"] == "invalid_request_error"


def test_rejected_requests_leave_the_server_healthy(server: InProcessServer) -> None:
    res = _post(server, ENDPOINT, json={"inputs": ["still fine"]})
    assert res.status_code == 200
