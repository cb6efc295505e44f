"""huggingface_hub.InferenceClient against the serverless routes, parsed by the real client."""

from __future__ import annotations

import numpy as np
import pytest
from huggingface_hub import InferenceClient, constants
from huggingface_hub.errors import HfHubHTTPError

from tests.conftest import BUNDLED_ID
from tests.support.server import RunningServer


@pytest.fixture(autouse=True)
def _client_may_reach_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    # huggingface_hub's offline mode refuses every request, loopback included; these go only to our server.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


@pytest.fixture
def client(server: RunningServer) -> InferenceClient:
    return InferenceClient(model=f"{server.url}/models/{BUNDLED_ID}", token=server.token)


def test_feature_extraction_matches_sentence_transformers(client: InferenceClient, reference_model) -> None:  # type: ignore[no-untyped-def]
    vector = client.feature_extraction("Today is a sunny day")
    assert vector.shape == (384,)
    expected = reference_model.encode("Today is a sunny day")
    assert float(np.dot(vector, expected)) >= 0.9999


def test_feature_extraction_options(client: InferenceClient) -> None:
    short = client.feature_extraction("Today is a sunny day", dimensions=64, normalize=True)
    assert short.shape == (64,)
    assert abs(float(np.linalg.norm(short)) - 1.0) < 1e-5
    left = client.feature_extraction("word " * 400 + "tail", truncation_direction="left")
    right = client.feature_extraction("word " * 400 + "tail", truncation_direction="right")
    assert float(np.dot(left, right)) < 0.9999


def test_sentence_similarity(client: InferenceClient) -> None:
    scores = client.sentence_similarity(
        "Machine learning is so easy.",
        other_sentences=[
            "Deep learning is so straightforward.",
            "This is so difficult, like rocket science.",
        ],
    )
    assert len(scores) == 2
    assert scores[0] > scores[1]


def test_pipeline_route_for_the_router_url(server: RunningServer) -> None:
    client = InferenceClient(
        model=f"{server.url}/models/{BUNDLED_ID}/pipeline/feature-extraction", token=server.token
    )
    assert client.feature_extraction("hello").shape == (384,)


def test_wrong_token_is_an_http_error(server: RunningServer) -> None:
    client = InferenceClient(model=f"{server.url}/models/{BUNDLED_ID}", token="not-a-token")
    with pytest.raises(HfHubHTTPError) as caught:
        client.feature_extraction("hello")
    assert caught.value.response.status_code == 401
