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
    delete_inference_endpoint,
    get_inference_endpoint,
    hf_api,
    list_inference_endpoints,
    pause_inference_endpoint,
    resume_inference_endpoint,
    scale_to_zero_inference_endpoint,
    update_inference_endpoint,
)
from huggingface_hub.errors import HfHubHTTPError, InferenceEndpointError

from inferhouse.auth import SqliteTokenTable, TokenStore
from inferhouse.storage import Database
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
        # minReplica 2: an endpoint starts with its floor and autoscales up to maxReplica from there.
        endpoint.update(min_replica=2, max_replica=2, task="sentence-embeddings")
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


def test_scaling_settings_round_trip(server: RunningServer) -> None:
    created = _create(
        server,
        "hf-autoscaled",
        min_replica=0,
        max_replica=2,
        scaling_metric="hardwareUsage",
        scaling_threshold=75.0,
    )
    try:
        scaling = created.raw["compute"]["scaling"]
        assert (scaling["minReplica"], scaling["maxReplica"]) == (0, 2)
        assert scaling["measure"] == {"hardwareUsage": 75.0}
        created.wait(**WAIT)
        assert created.raw["status"]["targetReplica"] == created.raw["status"]["readyReplica"] == 1
        updated = update_inference_endpoint(
            "hf-autoscaled", scaling_metric="pendingRequests", scaling_threshold=3.0, token=server.token
        )
        assert updated.raw["compute"]["scaling"]["measure"] == {"pendingRequests": 3.0}
        assert updated.status == "running"  # a new metric needs no reload
        fetched = get_inference_endpoint("hf-autoscaled", token=server.token)
        assert fetched.raw["compute"]["scaling"]["measure"] == {"pendingRequests": 3.0}
        with pytest.raises(HfHubHTTPError) as bad:
            update_inference_endpoint(
                "hf-autoscaled", scaling_metric="pendingRequests", scaling_threshold=0.0, token=server.token
            )
        assert bad.value.response.status_code == 422
        assert "above 0" in bad.value.response.json()["error"]
    finally:
        created.delete()


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


def _user_token(server: RunningServer, name: str) -> str:
    db = Database.in_data_dir(server.data_dir)
    try:
        return TokenStore(SqliteTokenTable(db)).create(name)
    finally:
        db.close()


def test_a_user_token_cannot_take_over_an_endpoint_it_did_not_create(server: RunningServer) -> None:
    private = _create(server, "hf-takeover", type="private", min_replica=1)
    intruder = _user_token(server, "intruder")
    try:
        refusals = {
            "get": lambda: get_inference_endpoint(private.name, token=intruder),
            "update": lambda: update_inference_endpoint(private.name, env={"TAKEN": "1"}, token=intruder),
            "pause": lambda: pause_inference_endpoint(private.name, token=intruder),
            "resume": lambda: resume_inference_endpoint(private.name, token=intruder),
            "scale_to_zero": lambda: scale_to_zero_inference_endpoint(private.name, token=intruder),
            "delete": lambda: delete_inference_endpoint(private.name, token=intruder),
        }
        for action, call in refusals.items():
            with pytest.raises(HfHubHTTPError) as refused:
                call()
            assert refused.value.response.status_code == 403, action
        assert private.name not in [listed.name for listed in list_inference_endpoints(token=intruder)]
        # Nor by the raw route the Hub client has no argument for: making it public.
        made_public = requests.put(
            f"{server.url}/v2/endpoint/local/{private.name}",
            json={"type": "public"},
            headers={"Authorization": f"Bearer {intruder}"},
            timeout=30,
        )
        assert made_public.status_code == 403
        kept = get_inference_endpoint(private.name, token=server.token)
        assert (kept.type, kept.raw["model"]["env"]) == ("private", {})
        assert requests.post(kept.url or "", json={"inputs": "x"}, timeout=30).status_code == 401
    finally:
        private.delete()


def test_a_user_token_manages_the_endpoints_it_created(server: RunningServer) -> None:
    owner = _user_token(server, "owner")
    mine = _create(server, "hf-owned", token=owner)
    try:
        assert mine.name in [listed.name for listed in list_inference_endpoints(token=owner)]
        mine.pause()
        assert mine.status == "paused"
        assert get_inference_endpoint(mine.name, token=owner).status == "paused"
        with pytest.raises(HfHubHTTPError) as refused:
            pause_inference_endpoint(mine.name, token=_user_token(server, "neighbour"))
        assert refused.value.response.status_code == 403
    finally:
        mine.delete()
    with pytest.raises(HfHubHTTPError) as gone:
        get_inference_endpoint(mine.name, token=server.token)
    assert gone.value.response.status_code == 404
