"""The SDK's Inference Endpoints calls, offline: the requests it sends and how it reads the replies."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from inferhouse.client import Client, EndpointDescription, EndpointNotReady, InferhouseAPIError

SERVER = "http://test"
Handler = Callable[[httpx.Request], httpx.Response]


def _endpoint(state: str = "running", **status: Any) -> dict[str, Any]:
    return {
        "name": "e1",
        "type": "protected",
        "model": {
            "repository": "org/model",
            "revision": "main",
            "task": "sentence-embeddings",
            "framework": "pytorch",
            "env": {},
        },
        "compute": {
            "accelerator": "cpu",
            "instanceType": "intel-icl",
            "instanceSize": "x1",
            "scaling": {"minReplica": 0, "maxReplica": 2, "scaleToZeroTimeout": 15},
        },
        "provider": {"vendor": "local", "region": "local"},
        "status": {
            "state": state,
            "message": None,
            "url": f"{SERVER}/endpoints/e1",
            "createdAt": "2025-01-01T00:00:00Z",
            "updatedAt": "2025-01-01T00:01:00Z",
            "readyReplica": 1,
            "targetReplica": 1,
        }
        | status,
        "healthRoute": "/health",
    }


class Recorder:
    """Answers whoami itself and every other request through ``respond``, keeping what was sent."""

    def __init__(self, respond: Handler) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/api/whoami-v2":
            return httpx.Response(200, json={"type": "user", "name": "local"})
        return self.respond(request)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url.path) for r in self.requests]

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


@pytest.fixture
def make_client() -> Iterator[Callable[[Handler], tuple[Client, Recorder]]]:
    made: list[Client] = []

    def make(respond: Handler) -> tuple[Client, Recorder]:
        recorder = Recorder(respond)
        http = httpx.Client(base_url=SERVER, transport=httpx.MockTransport(recorder))
        made.append(Client(token="t0", http_client=http))
        return made[-1], recorder

    yield make
    for client in made:
        client.close()


def test_create_sends_the_full_body_and_asks_whoami_once(
    make_client: Callable[[Handler], tuple[Client, Recorder]],
) -> None:
    client, sent = make_client(lambda request: httpx.Response(200, json=_endpoint("pending")))
    created = client.create_endpoint("e1", "org/model", task="sentence-embeddings", env={"A": "1"})
    client.create_endpoint("e2", "org/model", min_replica=0, scale_to_zero_timeout=15, type="public")
    assert sent.calls() == [
        ("GET", "/api/whoami-v2"),
        ("POST", "/v2/endpoint/local"),
        ("POST", "/v2/endpoint/local"),
    ]
    assert sent.requests[1].headers["authorization"] == "Bearer t0"
    assert sent.body(1) == {
        "name": "e1",
        "type": "protected",
        "model": {
            "repository": "org/model",
            "task": "sentence-embeddings",
            "framework": "pytorch",
            "env": {"A": "1"},
            "image": {"huggingface": {}},
        },
        "compute": {
            "accelerator": "cpu",
            "instanceType": "intel-icl",
            "instanceSize": "x1",
            "scaling": {"minReplica": 1, "maxReplica": 1},
        },
        "provider": {"vendor": "local", "region": "local"},
    }
    assert sent.body(2)["compute"]["scaling"] == {"minReplica": 0, "maxReplica": 1, "scaleToZeroTimeout": 15}
    assert sent.body(2)["type"] == "public"
    assert (created.name, created.state) == ("e1", "pending")


def test_update_sends_only_the_fields_given(
    make_client: Callable[[Handler], tuple[Client, Recorder]],
) -> None:
    client, sent = make_client(lambda request: httpx.Response(200, json=_endpoint("updating")))
    assert client.update_endpoint("e1", max_replica=2).state == "updating"
    assert sent.calls()[-1] == ("PUT", "/v2/endpoint/local/e1")
    assert sent.body() == {"compute": {"scaling": {"maxReplica": 2}}}
    client.update_endpoint("e1", repository="org/other", instance_size="x2", env={})
    assert sent.body() == {"model": {"repository": "org/other", "env": {}}, "compute": {"instanceSize": "x2"}}
    client.update_endpoint("e1", type="private")
    assert sent.body() == {"type": "private"}


def test_scaling_metric_and_threshold_travel_as_huggingface_hubs_measure(
    make_client: Callable[[Handler], tuple[Client, Recorder]],
) -> None:
    client, sent = make_client(lambda request: httpx.Response(200, json=_endpoint("pending")))
    client.create_endpoint(
        "e1", "org/model", max_replica=3, scaling_metric="hardwareUsage", scaling_threshold=70
    )
    assert sent.body()["compute"]["scaling"] == {
        "minReplica": 1,
        "maxReplica": 3,
        "measure": {"hardwareUsage": 70.0},
    }
    client.create_endpoint("e1", "org/model", scaling_metric="PENDINGREQUESTS")  # any case; default threshold
    assert sent.body()["compute"]["scaling"]["measure"] == {"pendingRequests": None}
    client.create_endpoint("e1", "org/model", scaling_threshold=3)  # a threshold alone is pendingRequests'
    assert sent.body()["compute"]["scaling"]["measure"] == {"pendingRequests": 3.0}
    client.update_endpoint("e1", scaling_metric="hardwareUsage")
    assert sent.body() == {"compute": {"scaling": {"measure": {"hardwareUsage": None}}}}


def test_a_threshold_alone_in_an_update_keeps_the_endpoints_metric(
    make_client: Callable[[Handler], tuple[Client, Recorder]],
) -> None:
    measured = _endpoint()
    measured["compute"]["scaling"]["measure"] = {"hardwareUsage": 80.0}
    client, sent = make_client(lambda request: httpx.Response(200, json=measured))
    client.update_endpoint("e1", scaling_threshold=55.5)
    assert sent.calls()[1:] == [("GET", "/v2/endpoint/local/e1"), ("PUT", "/v2/endpoint/local/e1")]
    assert sent.body() == {"compute": {"scaling": {"measure": {"hardwareUsage": 55.5}}}}
    with pytest.raises(ValueError, match="at most 100, got 120"):
        client.update_endpoint("e1", scaling_threshold=120)  # checked against hardwareUsage
    assert sent.calls()[-1] == ("GET", "/v2/endpoint/local/e1")


@pytest.mark.parametrize(
    ("metric", "threshold", "message"),
    [
        ("gpuTemperature", None, "must be pendingRequests or hardwareUsage, got 'gpuTemperature'"),
        ("pendingRequests", 0, "a number above 0, got 0"),
        (None, -1.5, "a number above 0, got -1.5"),
        (None, float("nan"), "a number above 0"),
        ("hardwareUsage", 101, "a CPU percentage, at most 100, got 101"),
    ],
)
def test_bad_scaling_settings_raise_before_anything_is_sent(
    make_client: Callable[[Handler], tuple[Client, Recorder]],
    metric: str | None,
    threshold: float | None,
    message: str,
) -> None:
    client, sent = make_client(lambda request: httpx.Response(200, json=_endpoint()))
    with pytest.raises(ValueError, match=re.escape(message)):
        client.create_endpoint("e1", "org/model", scaling_metric=metric, scaling_threshold=threshold)
    with pytest.raises(ValueError, match=re.escape(message)):
        client.update_endpoint("e1", scaling_metric=metric or "pendingRequests", scaling_threshold=threshold)
    assert sent.calls() == []


def test_description_reads_the_scaling_measure() -> None:
    measured = _endpoint()
    measured["compute"]["scaling"]["measure"] = {"pendingRequests": 2}
    described = EndpointDescription.from_json(measured)
    assert (described.scaling_metric, described.scaling_threshold) == ("pendingRequests", 2.0)
    measured["compute"]["scaling"]["measure"] = {"hardwareUsage": None}
    described = EndpointDescription.from_json(measured)
    assert (described.scaling_metric, described.scaling_threshold) == ("hardwareUsage", None)


def test_description_reads_every_field() -> None:
    assert EndpointDescription.from_json(_endpoint()) == EndpointDescription(
        name="e1",
        state="running",
        type="protected",
        repository="org/model",
        revision="main",
        task="sentence-embeddings",
        framework="pytorch",
        message=None,
        url=f"{SERVER}/endpoints/e1",
        accelerator="cpu",
        instance_type="intel-icl",
        instance_size="x1",
        min_replica=0,
        max_replica=2,
        scale_to_zero_timeout=15,
        ready_replicas=1,
        target_replicas=1,
        created_at="2025-01-01T00:00:00Z",
        updated_at="2025-01-01T00:01:00Z",
        health_route="/health",
    )


def test_actions_names_and_logs(make_client: Callable[[Handler], tuple[Client, Recorder]]) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/logs"):
            return httpx.Response(200, text="one\ntwo\n", headers={"content-type": "text/plain"})
        if request.method == "DELETE":
            return httpx.Response(200, json={})
        if request.url.path.endswith("/resume"):
            return httpx.Response(400, json={"error": "Endpoint a/b is already running", "error_type": "x"})
        if request.method == "GET" and request.url.path == "/v2/endpoint/local":
            return httpx.Response(200, json={"items": [_endpoint(), _endpoint("paused") | {"name": "e2"}]})
        return httpx.Response(200, json=_endpoint("paused"))

    client, sent = make_client(respond)
    assert [(e.name, e.state) for e in client.list_endpoints()] == [("e1", "running"), ("e2", "paused")]
    client.pause_endpoint("e1")
    client.scale_endpoint_to_zero("a b/c")
    assert client.endpoint_logs("e1", tail=5) == ["one", "two"]
    assert sent.requests[-1].url.params["tail"] == "5"
    client.delete_endpoint("e1")
    assert client.resume_endpoint("e1").name == "e1"  # already running: described instead
    with pytest.raises(InferhouseAPIError) as refused:
        client.resume_endpoint("e1", running_ok=False)
    assert refused.value.status_code == 400
    assert "already running" in refused.value.message
    assert sent.requests[3].url.raw_path == b"/v2/endpoint/local/a%20b%2Fc/scale-to-zero"
    assert sent.calls()[1:] == [
        ("GET", "/v2/endpoint/local"),
        ("POST", "/v2/endpoint/local/e1/pause"),
        ("POST", "/v2/endpoint/local/a b/c/scale-to-zero"),
        ("GET", "/v2/endpoint/local/e1/logs"),
        ("DELETE", "/v2/endpoint/local/e1"),
        ("POST", "/v2/endpoint/local/e1/resume"),
        ("GET", "/v2/endpoint/local/e1"),
        ("POST", "/v2/endpoint/local/e1/resume"),
    ]


def test_wait_polls_until_running_and_healthy(
    make_client: Callable[[Handler], tuple[Client, Recorder]],
) -> None:
    states = iter(["pending", "initializing", "running", "running"])
    health = iter([503, 200])

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/endpoints/e1/health":
            return httpx.Response(next(health))
        return httpx.Response(200, json=_endpoint(next(states)))

    client, sent = make_client(respond)
    assert client.wait_endpoint("e1", timeout=5, poll=0).state == "running"
    assert [path for _, path in sent.calls()].count("/endpoints/e1/health") == 2


@pytest.mark.parametrize(
    ("state", "reason"),
    [("failed", "failed"), ("updateFailed", "failed"), ("paused", "will not start by itself")],
)
def test_wait_stops_on_a_state_that_will_not_run(
    make_client: Callable[[Handler], tuple[Client, Recorder]], state: str, reason: str
) -> None:
    client, _ = make_client(
        lambda request: httpx.Response(200, json=_endpoint(state, message="no such repository"))
    )
    with pytest.raises(EndpointNotReady) as stopped:
        client.wait_endpoint("e1", timeout=5, poll=0)
    assert (stopped.value.state, stopped.value.message) == (state, "no such repository")
    assert str(stopped.value) == f"endpoint e1 {reason} (state {state}): no such repository"


def test_wait_times_out(make_client: Callable[[Handler], tuple[Client, Recorder]]) -> None:
    client, _ = make_client(lambda request: httpx.Response(200, json=_endpoint("initializing")))
    with pytest.raises(EndpointNotReady, match=r"not ready after 0\.05 s \(state initializing\)"):
        client.wait_endpoint("e1", timeout=0.05, poll=0.01)


def test_errors_carry_the_servers_message(make_client: Callable[[Handler], tuple[Client, Recorder]]) -> None:
    client, _ = make_client(
        lambda request: httpx.Response(
            404, json={"error": "Endpoint local/nope not found", "error_type": "not_found"}
        )
    )
    with pytest.raises(InferhouseAPIError) as missing:
        client.describe_endpoint("nope")
    assert (missing.value.status_code, missing.value.kind) == (404, "not_found")
    assert missing.value.message == "Endpoint local/nope not found"
