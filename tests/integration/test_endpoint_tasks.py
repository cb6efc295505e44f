"""The reply shape of a dedicated endpoint follows its task, as in the Inference Endpoints container."""

from __future__ import annotations

import numpy as np
import requests

from tests.support.server import RunningServer


def _post(server: RunningServer, name: str, body: object) -> requests.Response:
    return requests.post(f"{server.url}/endpoints/{name}", headers=server.headers, json=body, timeout=30)


def test_feature_extraction_is_a_bare_pooled_list(server: RunningServer) -> None:
    res = _post(server, "tiny-features", {"inputs": "a happy dog"})
    assert res.status_code == 200, res.text
    one = res.json()
    many = _post(server, "tiny-features", {"inputs": ["a happy dog", "a sad dog"]}).json()
    assert np.array(one).shape == (32,)
    assert np.array(many).shape == (2, 32)
    assert np.allclose(many[0], one, atol=1e-6)


def test_sentence_similarity_is_wrapped(server: RunningServer) -> None:
    body = {"inputs": {"source_sentence": "a happy dog", "sentences": ["a happy dog", "quarterly taxes"]}}
    reply = _post(server, "tiny-similarity", body).json()
    assert list(reply) == ["similarities"]
    assert reply["similarities"][0] == pytest_approx(1.0)
    assert len(reply["similarities"]) == 2


def test_similarity_endpoint_refuses_plain_texts(server: RunningServer) -> None:
    res = _post(server, "tiny-similarity", {"inputs": ["a", "b"]})
    assert res.status_code == 422
    assert "source_sentence" in res.json()["error"]


def test_similarity_needs_sentences(server: RunningServer) -> None:
    res = _post(server, "tiny-similarity", {"inputs": {"source_sentence": "a", "sentences": []}})
    assert res.status_code == 400
    assert res.json()["error_type"] == "empty"


def test_endpoints_are_listed_in_health_to_an_admin(server: RunningServer) -> None:
    states = requests.get(server.url + "/health", headers=server.headers).json()["endpoints"]
    assert {"all-minilm-l6-v2", "tiny-features", "tiny-similarity"} <= set(states)
    assert states["all-minilm-l6-v2"] == "running"


def pytest_approx(value: float) -> object:
    import pytest

    return pytest.approx(value, abs=1e-5)
