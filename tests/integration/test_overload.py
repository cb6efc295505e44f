"""Under more load than an endpoint can serve within its queue-time limit, the excess is refused at once
with 429 and Retry-After, in each dialect's shape, while every admitted request is answered."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.conftest import ENDPOINT_MODEL_ID
from tests.support.server import RunningServer, delete_endpoint, deploy_endpoint

NAME = "tiny-strict"
INPUTS = 64
CLIENTS = 12
DIALECTS = ("hf", "tei", "openai")


@pytest.fixture(scope="module")
def strict_endpoint(server: RunningServer) -> Iterator[str]:
    # A limit of a microsecond: once a pass is measured, any work ahead is too much.
    deploy_endpoint(
        server,
        NAME,
        ENDPOINT_MODEL_ID,
        "feature-extraction",
        env={"INFERHOUSE_MAX_QUEUE_SECONDS": "0.000001"},
    )
    yield NAME
    delete_endpoint(server, NAME)


def _call(server: RunningServer, dialect: str, texts: list[str]) -> requests.Response:
    base = f"{server.url}/endpoints/{NAME}"
    if dialect == "openai":  # the OpenAI route, with the endpoint named as the model
        return requests.post(
            f"{server.url}/v1/embeddings",
            json={"input": texts, "model": NAME},
            headers=server.headers,
            timeout=120,
        )
    route = f"{base}/embed" if dialect == "tei" else base
    return requests.post(route, json={"inputs": texts}, headers=server.headers, timeout=120)


def test_overload_is_refused_fast_with_retry_after_and_admitted_requests_complete(
    server: RunningServer, strict_endpoint: str
) -> None:
    counter = itertools.count()
    refused: dict[str, requests.Response] = {}
    answered: list[tuple[str, requests.Response]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 120  # a bound on the test, not a timing assertion

    def client(worker: int) -> None:
        for number in itertools.count():
            with lock:
                if len(refused) == len(DIALECTS) or time.monotonic() > deadline:
                    return
            dialect = DIALECTS[(worker + number) % len(DIALECTS)]
            # Unique texts: the embedding cache must not answer them.
            texts = [f"overload sentence {next(counter)} about whales" for _ in range(INPUTS)]
            reply = _call(server, dialect, texts)
            with lock:
                if reply.status_code == 429:
                    refused.setdefault(dialect, reply)
                else:
                    answered.append((dialect, reply))

    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))

    assert sorted(refused) == sorted(DIALECTS), f"no 429 seen for {set(DIALECTS) - set(refused)}"
    for reply in refused.values():
        assert int(reply.headers["Retry-After"]) >= 1
    assert refused["hf"].json()["error_type"] == "overloaded"
    assert refused["tei"].json()["error_type"] == "overloaded"
    assert "Model is overloaded" in refused["tei"].json()["error"]
    openai_error = refused["openai"].json()["error"]
    assert (openai_error["type"], openai_error["code"]) == ("rate_limit_error", "overloaded")
    assert answered, "nothing was admitted"
    for dialect, reply in answered:
        assert reply.status_code == 200, reply.text
        body = reply.json()
        vectors = body["data"] if dialect == "openai" else body
        assert len(vectors) == INPUTS
    # Once the load is gone, nothing is ahead: the next request is admitted.
    assert _call(server, "tei", ["after the storm"]).status_code == 200


def test_a_bad_queue_limit_fails_the_endpoint_with_what_to_change(server: RunningServer) -> None:
    body = {
        "name": "bad-queue-limit",
        "model": {
            "repository": ENDPOINT_MODEL_ID,
            "task": "feature-extraction",
            "env": {"INFERHOUSE_MAX_QUEUE_SECONDS": "soon"},
        },
    }
    api = f"{server.url}/v2/endpoint/local"
    assert requests.post(api, json=body, headers=server.headers, timeout=30).status_code == 200
    try:
        for _ in range(300):
            status = requests.get(f"{api}/bad-queue-limit", headers=server.headers, timeout=30).json()[
                "status"
            ]
            if status["state"] not in ("pending", "initializing"):
                break
            time.sleep(0.1)
        assert status["state"] == "failed"
        assert "INFERHOUSE_MAX_QUEUE_SECONDS must be a number of seconds" in status["message"]
    finally:
        delete_endpoint(server, "bad-queue-limit")
