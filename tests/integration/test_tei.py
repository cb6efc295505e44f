"""TEI routes under a dedicated endpoint."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import requests

from tests.support.server import RunningServer


def _post(server: RunningServer, route: str, body: object) -> requests.Response:
    return requests.post(f"{server.url}/endpoints/all-minilm-l6-v2{route}", headers=server.headers, json=body)


def test_embed_is_always_two_dimensional_and_normalized(server: RunningServer) -> None:
    res = _post(server, "/embed", {"inputs": "a happy dog"})
    assert res.status_code == 200
    vectors = np.array(res.json())
    assert vectors.shape == (1, 384)
    assert abs(np.linalg.norm(vectors[0]) - 1.0) < 1e-5


def test_embed_dimensions_truncates_then_normalizes(server: RunningServer) -> None:
    full = np.array(_post(server, "/embed", {"inputs": ["a happy dog"], "normalize": False}).json()[0])
    short = np.array(_post(server, "/embed", {"inputs": ["a happy dog"], "dimensions": 32}).json()[0])
    assert short.shape == (32,)
    assert np.allclose(short, full[:32] / np.linalg.norm(full[:32]), atol=1e-5)


def test_embed_truncate_false_refuses_long_input(server: RunningServer) -> None:
    res = _post(server, "/embed", {"inputs": ["word " * 600], "truncate": False})
    assert res.status_code == 422
    assert res.json()["error_type"] == "validation"
    assert "256 tokens" in res.json()["error"]


def test_embed_truncation_direction(server: RunningServer) -> None:
    text = "start " + "filler " * 400 + "end"
    right = np.array(_post(server, "/embed", {"inputs": text, "truncation_direction": "Right"}).json()[0])
    left = np.array(_post(server, "/embed", {"inputs": text, "truncation_direction": "left"}).json()[0])
    assert float(right @ left) < 0.9999


def test_embed_prompt_name(server: RunningServer) -> None:
    # The bundled model defines empty query/document prompts, so the vectors are unchanged.
    plain = np.array(_post(server, "/embed", {"inputs": "dog"}).json()[0])
    query = np.array(_post(server, "/embed", {"inputs": "dog", "prompt_name": "query"}).json()[0])
    assert np.allclose(plain, query, atol=1e-6)
    res = _post(server, "/embed", {"inputs": "dog", "prompt_name": "nope"})
    assert res.status_code == 422
    assert "document, query" in res.json()["error"]


def test_similarity(server: RunningServer) -> None:
    body = {"inputs": {"source_sentence": "a happy dog", "sentences": ["a joyful puppy", "tax law"]}}
    scores = _post(server, "/similarity", body).json()
    assert len(scores) == 2
    assert scores[0] > scores[1]


def test_info(server: RunningServer) -> None:
    res = requests.get(f"{server.url}/endpoints/all-minilm-l6-v2/info", headers=server.headers)
    info = res.json()
    assert info["model_id"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert info["max_input_length"] == 256
    assert info["max_batch_tokens"] == 16384
    assert info["max_client_batch_size"] == 256


def test_v1_embeddings_base64_decodes_to_the_float_reply(server: RunningServer) -> None:
    floats = _post(server, "/v1/embeddings", {"input": ["a happy dog"], "model": "x"}).json()
    encoded = _post(server, "/v1/embeddings", {"input": ["a happy dog"], "encoding_format": "base64"}).json()
    decoded = np.frombuffer(base64.b64decode(encoded["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, floats["data"][0]["embedding"], atol=1e-6)
    assert floats["object"] == "list"
    assert floats["usage"]["prompt_tokens"] == floats["usage"]["total_tokens"]


@pytest.mark.parametrize("route", ["/health", ""])
def test_endpoint_health(server: RunningServer, route: str) -> None:
    res = requests.get(f"{server.url}/endpoints/all-minilm-l6-v2{route}", headers=server.headers)
    assert res.status_code == 200
    assert res.text == "Ok"


def test_feature_extraction_style_dimensions_via_parameters(server: RunningServer) -> None:
    res = requests.post(
        f"{server.url}/endpoints/all-minilm-l6-v2",
        headers=server.headers,
        json={"inputs": ["dog"], "parameters": {"dimensions": 16}},
    )
    assert np.array(res.json()["embeddings"]).shape == (1, 16)
