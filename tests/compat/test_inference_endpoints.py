"""huggingface_hub's own Inference Endpoints functions, pointed at the server's management API."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np
import pytest
import requests
from huggingface_hub import (
    InferenceEndpoint,
    constants,
    create_inference_endpoint,
    get_inference_endpoint,
    hf_api,
    list_inference_endpoints,
)
from huggingface_hub.errors import HfHubHTTPError, InferenceEndpointError

from tests.conftest import BUNDLED_ID
from tests.support.server import RunningServer

WAIT = {"timeout": 120, "refresh_every": 1}


@pytest.fixture(autouse=True)
def _point_huggingface_hub_at_server(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # What a user does: the management API base, and the Hub URL its namespace lookup (whoami) uses.
    monkeypatch.setattr(constants, "INFERENCE_ENDPOINTS_ENDPOINT", server.url + "/v2")
    monkeypatch.setattr(hf_api.api, "endpoint", server.url)
    # huggingface_hub's offline mode refuses every request, loopback included; these go only to our server.
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


def _create(server: RunningServer, name: str, **overrides: object) -> InferenceEndpoint:
    options: dict[str, object] = {
        "repository": BUNDLED_ID,
        "framework": "pytorch",
        "task": "feature-extraction",
        "accelerator": "cpu",
        "instance_size": "x1",
        "instance_type": "intel-icl",
        "region": "local",
        "vendor": "local",
        "min_replica": 0,
        "max_replica": 1,
        "scale_to_zero_timeout": 15,
        "token": server.token,
    }
    options.update(overrides)
    return create_inference_endpoint(name, **options)  # type: ignore[arg-type]


@pytest.fixture
def endpoint(server: RunningServer, request: pytest.FixtureRequest) -> Iterator[InferenceEndpoint]:
    name = "hf-" + request.node.name.removeprefix("test_").replace("_", "-")[:24].strip("-")
    created = _create(server, name)
    yield created
    with contextlib.suppress(HfHubHTTPError):  # unless the test deleted it
        created.delete()


def test_create_wait_call_and_list(endpoint: InferenceEndpoint, server: RunningServer) -> None:
    assert endpoint.status in ("pending", "initializing")
    assert endpoint.namespace == "local"
    endpoint.wait(**WAIT)
    assert endpoint.status == "running"
    assert endpoint.url == f"{server.url}/endpoints/{endpoint.name}"
    assert endpoint.repository == BUNDLED_ID
    assert endpoint.task == "feature-extraction"
    assert endpoint.type == "authenticated"

    vector = endpoint.client.feature_extraction("Today is a sunny day")
    assert vector.shape == (384,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4

    names = [listed.name for listed in list_inference_endpoints(token=server.token)]
    assert endpoint.name in names
    assert get_inference_endpoint(endpoint.name, token=server.token).status == "running"


def test_pause_and_resume(endpoint: InferenceEndpoint, server: RunningServer) -> None:
    endpoint.wait(**WAIT)
    endpoint.pause()
    assert endpoint.status == "paused"
    res = requests.post(endpoint.url or "", json={"inputs": "hello"}, headers=server.headers, timeout=30)
    assert res.status_code == 503
    assert res.json()["error_type"] == "paused"
    assert "resume" in res.json()["error"]
    assert requests.get(f"{endpoint.url}/health", headers=server.headers, timeout=30).status_code == 503

    endpoint.resume()
    assert endpoint.status == "initializing"
    endpoint.wait(**WAIT)
    assert endpoint.client.feature_extraction("back again").shape == (384,)
    endpoint.resume()  # running_ok: the server's "already running" 400 is what the client expects
    assert endpoint.status == "running"


def test_scale_to_zero_then_wake_on_request(endpoint: InferenceEndpoint, server: RunningServer) -> None:
    endpoint.wait(**WAIT)
    endpoint.scale_to_zero()
    assert endpoint.status == "scaledToZero"
    url = endpoint.url or ""

    cold = requests.post(url, json={"inputs": "wake up"}, headers=server.headers, timeout=30)
    assert cold.status_code == 503
    assert cold.json()["estimated_time"] > 0
    assert "loading" in cold.json()["error"]

    waited = requests.post(
        url, json={"inputs": "wake up"}, headers={**server.headers, "x-wait-for-model": "true"}, timeout=120
    )
    assert waited.status_code == 200
    assert len(waited.json()) == 384
    assert endpoint.fetch().status == "running"


def test_update_swaps_the_model_without_dropping_requests(
    endpoint: InferenceEndpoint, server: RunningServer
) -> None:
    endpoint.wait(**WAIT)
    failures: list[int] = []
    answered = 0
    stop = threading.Event()

    def keep_calling() -> None:
        nonlocal answered
        while not stop.is_set():
            url = endpoint.url or ""
            res = requests.post(url, json={"inputs": "steady"}, headers=server.headers, timeout=60)
            if res.status_code != 200:
                failures.append(res.status_code)
            answered += 1

    caller = threading.Thread(target=keep_calling)
    caller.start()
    try:
        endpoint.update(max_replica=2, task="sentence-embeddings")
        assert endpoint.status == "updating"
        endpoint.wait(**WAIT)
    finally:
        stop.set()
        caller.join()
    assert failures == []
    assert answered > 0
    assert endpoint.task == "sentence-embeddings"
    assert endpoint.raw["compute"]["scaling"]["maxReplica"] == 2
    reply = requests.post(endpoint.url or "", json={"inputs": ["a", "b"]}, headers=server.headers, timeout=30)
    assert np.asarray(reply.json()["embeddings"]).shape == (2, 384)
    metrics = requests.get(server.url + "/metrics", headers=server.headers, timeout=30).text
    assert f'inferhouse_endpoint_replicas{{endpoint="{endpoint.name}"}} 2.0' in metrics


def test_delete(server: RunningServer) -> None:
    created = _create(server, "hf-deleted")
    created.delete()
    with pytest.raises(HfHubHTTPError) as caught:
        get_inference_endpoint("hf-deleted", token=server.token)
    assert caught.value.response.status_code == 404


def test_a_model_that_cannot_load_fails_with_a_message(server: RunningServer) -> None:
    created = _create(server, "hf-missing-model", repository="no-such-org/no-such-model")
    try:
        with pytest.raises(InferenceEndpointError):
            created.wait(**WAIT)
        assert created.status == "failed"
        message = created.raw["status"]["message"]
        assert "no-such-org/no-such-model" in message
        assert "not found" in message
    finally:
        created.delete()


def test_create_refuses_bad_requests_with_the_hub_error_shape(server: RunningServer) -> None:
    with pytest.raises(HfHubHTTPError) as bad_task:
        _create(server, "hf-bad-task", task="summarization-of-everything")
    assert bad_task.value.response.status_code == 422
    assert "not supported" in bad_task.value.response.json()["error"]
    with pytest.raises(HfHubHTTPError) as bad_scaling:
        _create(server, "hf-bad-scaling", min_replica=3, max_replica=1)
    assert "minReplica" in bad_scaling.value.response.json()["error"]
    _create(server, "hf-twice").delete()
    first = _create(server, "hf-twice")
    try:
        with pytest.raises(HfHubHTTPError) as twice:
            _create(server, "hf-twice")
        assert twice.value.response.status_code == 409
    finally:
        first.delete()
