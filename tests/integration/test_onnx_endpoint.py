"""An endpoint served by ONNX Runtime answers with the torch endpoint's vectors, and says so in its logs."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import requests

from tests.support.server import RunningServer, delete_endpoint, deploy_endpoint

BUNDLED_ID = "sentence-transformers/all-MiniLM-L6-v2"
NAME = "onnx-minilm"
TEXTS = ["a happy dog", "padding and truncation " * 200, "whales eat krill"]


@pytest.fixture(scope="module")
def onnx_endpoint(server: RunningServer) -> Iterator[str]:
    deploy_endpoint(server, NAME, BUNDLED_ID, "sentence-embeddings", env={"INFERHOUSE_BACKEND": "onnx"})
    yield NAME
    delete_endpoint(server, NAME)


def _embed(server: RunningServer, name: str) -> np.ndarray:  # type: ignore[type-arg]
    reply = requests.post(
        f"{server.url}/endpoints/{name}/embed", json={"inputs": TEXTS}, headers=server.headers, timeout=60
    )
    assert reply.status_code == 200, reply.text
    return np.asarray(reply.json(), dtype=np.float32)


def test_onnx_endpoint_matches_torch(server: RunningServer, onnx_endpoint: str) -> None:
    onnx, torch = _embed(server, onnx_endpoint), _embed(server, "all-minilm-l6-v2")
    cosines = (onnx * torch).sum(axis=1) / (np.linalg.norm(onnx, axis=1) * np.linalg.norm(torch, axis=1))
    assert cosines.min() >= 0.9999
    logs = requests.get(
        f"{server.url}/v2/endpoint/local/{onnx_endpoint}/logs", headers=server.headers, timeout=30
    ).text
    assert "backend onnx: asked for; lowest cosine to torch" in logs


def test_a_bad_backend_name_fails_the_endpoint_with_the_choices(server: RunningServer) -> None:
    body = {
        "name": "onnx-typo",
        "model": {
            "repository": BUNDLED_ID,
            "task": "sentence-embeddings",
            "env": {"INFERHOUSE_BACKEND": "tensorrt"},
        },
    }
    api = f"{server.url}/v2/endpoint/local"
    assert requests.post(api, json=body, headers=server.headers, timeout=30).status_code == 200
    try:
        for _ in range(300):
            status = requests.get(f"{api}/onnx-typo", headers=server.headers, timeout=30).json()["status"]
            if status["state"] not in ("pending", "initializing"):
                break
        assert status["state"] == "failed"
        assert "backend must be one of auto, torch, onnx, onnx-int8" in status["message"]
    finally:
        delete_endpoint(server, "onnx-typo")
