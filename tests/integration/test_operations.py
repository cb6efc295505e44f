"""Health, metrics, docs, the cache and the Python client against a real server."""

from __future__ import annotations

import re

import numpy as np
import pytest
import requests

from inferhouse import Client
from inferhouse.client import InferhouseAPIError
from tests.support.server import RunningServer


def _metric(server: RunningServer, name: str) -> float:
    text = requests.get(server.url + "/metrics", headers=server.headers, timeout=10).text
    values = [float(v) for v in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, flags=re.M)]
    return sum(values)


def test_health_lists_endpoints(server: RunningServer) -> None:
    health = requests.get(server.url + "/health").json()
    assert health["status"] == "ok"
    assert (health["database"], health["vector_store"], health["runtime"]) == (
        "sqlite",
        "embedded",
        "inprocess",
    )


def test_docs_and_openapi(server: RunningServer) -> None:
    assert requests.get(server.url + "/docs").status_code == 200
    paths = requests.get(server.url + "/openapi.json").json()["paths"]
    assert "/endpoints/{name}/embed" in paths
    assert "/v1/embeddings" in paths


def test_metrics_count_requests_batches_and_queue(server: RunningServer) -> None:
    requests.post(server.url + "/endpoints/all-minilm-l6-v2", headers=server.headers, json={"inputs": ["m"]})
    assert _metric(server, "inferhouse_requests_total") > 0
    assert _metric(server, "inferhouse_batch_size_count") > 0
    assert _metric(server, "inferhouse_request_seconds_count") > 0
    assert "inferhouse_queue_depth" in requests.get(server.url + "/metrics", headers=server.headers).text


def test_cache_serves_repeats_and_can_be_bypassed(server: RunningServer) -> None:
    url = server.url + "/endpoints/all-minilm-l6-v2"
    text = "a sentence only this test sends"
    requests.post(url, headers=server.headers, json={"inputs": [text]})
    hits = _metric(server, "inferhouse_cache_hits_total")
    again = requests.post(url, headers=server.headers, json={"inputs": [text]}).json()
    assert _metric(server, "inferhouse_cache_hits_total") == hits + 1
    bypass = requests.post(
        url, headers={**server.headers, "x-use-cache": "false"}, json={"inputs": [text]}
    ).json()
    assert _metric(server, "inferhouse_cache_hits_total") == hits + 1
    assert np.allclose(again["embeddings"], bypass["embeddings"], atol=1e-6)


def test_python_client(server: RunningServer) -> None:
    with Client(server.url, token=server.token) as client:
        vectors = client.embed(["a happy dog", "a sad dog"])
        assert len(vectors) == 2
        assert len(vectors[0]) == 384
        assert len(client.embed("one", dimensions=8)[0]) == 8
    with Client(server.url, token="wrong") as client, pytest.raises(InferhouseAPIError) as caught:
        client.embed("x")
    assert caught.value.status_code == 401
    assert caught.value.kind == "unauthorized"
