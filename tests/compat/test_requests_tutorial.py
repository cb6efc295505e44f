"""The embedding step of the Pinecone + Inference Endpoints tutorial, pointed at inferhouse unchanged."""

from __future__ import annotations

import requests

from tests.support.server import RunningServer


def test_tutorial_snippet_runs_as_written(server: RunningServer) -> None:
    token = server.token
    endpoint = f"{server.url}/endpoints/all-minilm-l6-v2"
    headers = {"Authorization": f"Bearer {token}"}
    res = requests.post(endpoint, headers=headers, json={"inputs": ["a happy dog", "a sad dog"]})
    assert res.status_code == 200 and len(res.json()["embeddings"]) == 2  # noqa: PT018 (as the tutorial has it)
    assert all(len(vector) == 384 for vector in res.json()["embeddings"])


def test_tutorial_batches_of_64_fit_in_one_request(server: RunningServer) -> None:
    passages = [f"passage number {i} about dogs and cats" for i in range(64)]
    res = requests.post(
        f"{server.url}/endpoints/all-minilm-l6-v2", headers=server.headers, json={"inputs": passages}
    )
    assert res.status_code == 200
    assert len(res.json()["embeddings"]) == 64


def test_single_string_gives_one_vector(server: RunningServer) -> None:
    res = requests.post(
        f"{server.url}/endpoints/all-minilm-l6-v2", headers=server.headers, json={"inputs": "a happy dog"}
    )
    assert res.status_code == 200
    vector = res.json()["embeddings"]
    assert len(vector) == 384
    assert isinstance(vector[0], float)
