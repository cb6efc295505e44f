"""Hostile inputs sent through a real client library, to a real server process."""

from __future__ import annotations

import openai
import pytest
import requests

from inferhouse.settings import DEFAULT_ENDPOINT_NAME
from tests.support.server import RunningServer


def test_endpoint_openai_route_answers_errors_as_openai(server: RunningServer) -> None:
    base_url = f"{server.url}/endpoints/{DEFAULT_ENDPOINT_NAME}/v1"
    with openai.OpenAI(base_url=base_url, api_key=server.token, max_retries=0) as client:
        with pytest.raises(openai.BadRequestError) as empty:
            client.embeddings.create(model=DEFAULT_ENDPOINT_NAME, input=[])
        assert client.embeddings.create(model=DEFAULT_ENDPOINT_NAME, input=["fine"]).data[0].embedding
    assert empty.value.code == "empty"
    assert empty.value.type == "invalid_request_error"
    assert "inputs cannot be empty" in empty.value.message
    reply = requests.post(
        f"{server.url}/endpoints/{DEFAULT_ENDPOINT_NAME}/v1/embeddings",
        data=b'{"input": NaN}',
        headers=server.headers,
        timeout=30,
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "invalid_json"
