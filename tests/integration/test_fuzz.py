"""Arbitrary bodies never make the server fail: every answer is a 2xx or a 4xx in the dialect's shape."""

from __future__ import annotations

import json

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.server import RunningServer

ROUTES = [
    "/endpoints/all-minilm-l6-v2",
    "/endpoints/all-minilm-l6-v2/embed",
    "/endpoints/all-minilm-l6-v2/similarity",
    "/endpoints/all-minilm-l6-v2/v1/embeddings",
    "/endpoints/tiny-similarity",
    "/models/sentence-transformers/all-MiniLM-L6-v2",
    "/v1/embeddings",
    "/indexes",
    "/indexes/fuzz-index/vectors/upsert",
    "/indexes/fuzz-index/query",
    "/indexes/fuzz-index/vectors/update",
    "/indexes/fuzz-index/vectors/delete",
    "/indexes/fuzz-index/describe_index_stats",
]

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
# Bodies shaped like real requests reach deeper than random JSON would.
field_names = st.sampled_from(
    [
        "inputs",
        "input",
        "model",
        "parameters",
        "options",
        "normalize",
        "truncate",
        "truncation_direction",
        "prompt_name",
        "dimensions",
        "encoding_format",
        "source_sentence",
        "sentences",
    ]
)
near_misses = st.dictionaries(field_names, json_values, max_size=5)


def _check(server: RunningServer, route: str, data: bytes) -> None:
    headers = {**server.headers, "content-type": "application/json"}
    res = requests.post(server.url + route, data=data, headers=headers, timeout=60)
    assert res.status_code < 500, (route, data[:200], res.text[:300])
    if res.status_code >= 400:
        body = res.json()
        error = body.get("error", body)  # Pinecone's data plane puts code and message at the top
        assert error if isinstance(error, str) else error["message"]


@pytest.fixture(scope="module", autouse=True)
def fuzz_index(server: RunningServer) -> None:
    body = {"name": "fuzz-index", "dimension": 2, "metric": "dotproduct"}
    requests.post(server.url + "/indexes", json=body, headers=server.headers, timeout=30)


@pytest.mark.parametrize("route", ROUTES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=json_values | near_misses)
def test_json_bodies(server: RunningServer, route: str, body: object) -> None:
    _check(server, route, json.dumps(body, allow_nan=True).encode())


@pytest.mark.parametrize("route", ROUTES[:2])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=64))
def test_raw_bytes(server: RunningServer, route: str, data: bytes) -> None:
    _check(server, route, data)
