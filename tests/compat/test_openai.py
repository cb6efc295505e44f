"""The official openai client's embeddings.create against /v1/embeddings."""

from __future__ import annotations

import numpy as np
import openai
import pytest

from tests.conftest import BUNDLED_ID
from tests.support.server import RunningServer


@pytest.fixture
def client(server: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key=server.token, max_retries=0)


def test_embeddings_create_with_endpoint_name(client: openai.OpenAI, reference_model) -> None:  # type: ignore[no-untyped-def]
    texts = ["a happy dog", "a sad dog"]
    # The client asks for base64 unless told otherwise, and decodes it itself.
    response = client.embeddings.create(model="all-minilm-l6-v2", input=texts)
    assert [item.index for item in response.data] == [0, 1]
    got = np.array([item.embedding for item in response.data])
    expected = reference_model.encode(texts)
    assert np.all(np.sum(got * expected, axis=1) >= 0.9999)
    assert response.usage.prompt_tokens > 0
    assert response.model == "all-minilm-l6-v2"


def test_embeddings_create_float_and_dimensions(client: openai.OpenAI) -> None:
    response = client.embeddings.create(
        model=BUNDLED_ID, input="a happy dog", encoding_format="float", dimensions=128
    )
    assert len(response.data[0].embedding) == 128


def test_unknown_model_is_not_found(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        client.embeddings.create(model="no-such/model", input="x")
    assert "not found" in caught.value.message.lower()


def test_bad_key_is_authentication_error(server: RunningServer) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        client.embeddings.create(model="all-minilm-l6-v2", input="x")


def test_token_arrays_are_refused_clearly(client: openai.OpenAI) -> None:
    with pytest.raises(openai.UnprocessableEntityError) as caught:
        client.embeddings.create(model="all-minilm-l6-v2", input=[[1, 2, 3]])
    assert "token arrays" in caught.value.message
