"""/metrics per replica on a real server: two-replica endpoints (an embedding one, which batches, and a
custom handler, called one body at a time) count each replica's calls, inputs and busy seconds under its
slot, and the server describes itself in inferhouse_server_info."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from inferhouse._version import __version__
from tests.support.models import build_tiny_bare_bert, write_custom_handler
from tests.support.server import RunningServer, start_server

EMBED = "embed-two"
ECHO = "echo-two"
ECHO_HANDLER = """
class EndpointHandler:
    def __init__(self, path):
        pass

    def __call__(self, data):
        return {"echo": data["inputs"]}
"""
# Distinct texts, so no request is answered from the embedding cache without reaching a replica.
REQUESTS = [[f"request {i} sentence {j} about whales" for j in range(1 + i % 5)] for i in range(40)]

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path) -> Iterator[RunningServer]:
    handler = build_tiny_bare_bert(tmp_path_factory.mktemp("models") / "echo")
    write_custom_handler(handler, ECHO_HANDLER)
    two = {"min_replica": 2, "max_replica": 2}
    declared = [
        {"name": EMBED, "model": str(tiny_model_dir), "task": "sentence-embeddings", **two},
        {"name": ECHO, "model": str(handler), "task": "custom", **two},
    ]
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ENDPOINTS": json.dumps(declared)}
    running = start_server(tmp_path_factory.mktemp("data"), env=env)
    yield running
    running.stop()


def _samples(server: RunningServer) -> Samples:
    reply = requests.get(server.url + "/metrics", headers=server.headers, timeout=30)
    assert reply.status_code == 200, reply.text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(reply.text)
        for sample in family.samples
    }


def _per_replica(samples: Samples, name: str, endpoint: str) -> dict[str, float]:
    """``name``'s value for each replica slot of ``endpoint``."""
    found = {}
    for (sample, labels), value in samples.items():
        label = dict(labels)
        if sample == name and label.get("endpoint") == endpoint:
            found[label["replica"]] = value
    return found


def _post(server: RunningServer, name: str, inputs: object) -> requests.Response:
    url = f"{server.url}/endpoints/{name}"
    return requests.post(url, json={"inputs": inputs}, headers=server.headers, timeout=60)


def test_each_embedding_replica_counts_its_calls_inputs_and_busy_seconds(server: RunningServer) -> None:
    before = _samples(server)
    # Both replicas exist before any request, at zero.
    assert _per_replica(before, "inferhouse_replica_calls_total", EMBED) == {"0": 0, "1": 0}
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda texts: _post(server, EMBED, texts), REQUESTS))
    assert [reply.status_code for reply in replies] == [200] * len(REQUESTS)
    assert [len(reply.json()["embeddings"]) for reply in replies] == [len(texts) for texts in REQUESTS]

    after = _samples(server)
    calls = _per_replica(after, "inferhouse_replica_calls_total", EMBED)
    inputs = _per_replica(after, "inferhouse_replica_inputs_total", EMBED)
    busy = _per_replica(after, "inferhouse_replica_busy_seconds_total", EMBED)
    assert set(calls) == set(inputs) == set(busy) == {"0", "1"}
    assert sum(calls.values()) == len(REQUESTS)
    assert sum(inputs.values()) == sum(len(texts) for texts in REQUESTS)
    assert sum(busy.values()) > 0
    assert after[("inferhouse_endpoint_replicas", (("endpoint", EMBED),))] == 2
    assert after[("inferhouse_endpoint_target_replicas", (("endpoint", EMBED),))] == 2


def test_each_handler_replica_counts_the_bodies_it_answered(server: RunningServer) -> None:
    bodies = [f"body {i}" for i in range(12)]
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda body: _post(server, ECHO, body), bodies))
    assert [reply.json() for reply in replies] == [{"echo": body} for body in bodies]
    samples = _samples(server)
    calls = _per_replica(samples, "inferhouse_replica_calls_total", ECHO)
    assert set(calls) == {"0", "1"}
    assert sum(calls.values()) == len(bodies)
    assert sum(_per_replica(samples, "inferhouse_replica_inputs_total", ECHO).values()) == len(bodies)
    assert sum(_per_replica(samples, "inferhouse_replica_busy_seconds_total", ECHO).values()) > 0


def test_the_server_describes_itself(server: RunningServer) -> None:
    labels = (
        ("database", "sqlite"),
        ("runtime", "inprocess"),
        ("vector_store", "embedded"),
        ("version", __version__),
    )
    assert _samples(server)[("inferhouse_server_info", labels)] == 1
    health = requests.get(server.url + "/health", timeout=30).json()
    assert (health["runtime"], health["database"], health["vector_store"]) == (
        "inprocess",
        "sqlite",
        "embedded",
    )
