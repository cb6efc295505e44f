"""A server on a real two-node Ray cluster (``INFERHOUSE_RUNTIME=ray``): the default endpoint embeds as
in-process, an endpoint's replicas land on both nodes, autoscaling and the whole lifecycle work through
the management API, and a deleted endpoint leaves no Serve application behind."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.generation import sse_events
from tests.support.models import build_tiny_bare_bert, write_custom_handler
from tests.support.ray_cluster import cluster_env, two_node_cluster
from tests.support.server import RunningServer, deploy_endpoint, start_server
from tests.support.text_models import build_tiny_causal_lm

API = "/v2/endpoint/local"
DEADLINE_S = 60.0
WHERE_HANDLER = """
import logging
import os
import time

import ray


class EndpointHandler:
    def __init__(self, path):
        self.node = ray.get_runtime_context().get_node_id()
        logging.getLogger("where").info("the where handler is loaded")

    def __call__(self, data):
        if data.get("parameters", {}).get("exit"):
            os._exit(1)  # the replica's process dies mid-call
        time.sleep(float(data.get("parameters", {}).get("sleep", 0)))
        spin_until = time.monotonic() + float(data.get("parameters", {}).get("spin", 0))
        while time.monotonic() < spin_until:  # keeps a CPU busy
            pass
        return {"node": self.node, "echo": data["inputs"]}
"""


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    with two_node_cluster() as address:
        yield address


@pytest.fixture(scope="module")
def where_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model = build_tiny_bare_bert(tmp_path_factory.mktemp("models") / "where")
    write_custom_handler(model, WHERE_HANDLER)
    return model


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, ray_cluster: str) -> Iterator[RunningServer]:
    env = {
        **cluster_env(),
        "INFERHOUSE_RUNTIME": "ray",
        "INFERHOUSE_RAY_ADDRESS": ray_cluster,
        # Half a logical CPU a replica: the two nodes hold ten, enough for every endpoint below.
        "INFERHOUSE_RAY_REPLICA_CPUS": "0.5",
        "INFERHOUSE_AUTOSCALE_INTERVAL_SECONDS": "0.1",
        "INFERHOUSE_SCALE_UP_SECONDS": "0.2",
        "INFERHOUSE_SCALE_DOWN_SECONDS": "1",
        # Replicas report their load to the controller this often (Ray's default is 10 s).
        "RAY_SERVE_HANDLE_AUTOSCALING_METRIC_PUSH_INTERVAL_S": "0.2",
    }
    running = start_server(tmp_path_factory.mktemp("data"), env=env)
    yield running
    running.stop()


def _create(server: RunningServer, name: str, model: Path, scaling: dict[str, Any]) -> None:
    model_spec = {"repository": str(model), "task": "custom"}
    body = {"name": name, "model": model_spec, "compute": {"scaling": scaling}}
    created = requests.post(server.url + API, json=body, headers=server.headers, timeout=120)
    assert created.status_code == 200, created.text
    _until(lambda: _status(server, name)["state"] == "running", f"{name} runs")


def _status(server: RunningServer, name: str) -> dict[str, Any]:
    reply = requests.get(f"{server.url}{API}/{name}", headers=server.headers, timeout=30)
    assert reply.status_code == 200, reply.text
    status: dict[str, Any] = reply.json()["status"]
    return status


def _call(
    server: RunningServer,
    name: str,
    sleep: float = 0.0,
    exit: bool = False,
    spin: float = 0.0,
    **headers: str,
) -> requests.Response:
    return requests.post(
        f"{server.url}/endpoints/{name}",
        json={"inputs": "hi", "parameters": {"sleep": sleep, "exit": exit, "spin": spin}},
        headers=server.headers | {key.replace("_", "-"): value for key, value in headers.items()},
        timeout=120,
    )


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.1)


def _serve_applications(address: str) -> list[str]:
    """The Serve applications on the cluster, as a separate driver sees them."""
    script = (
        "import json, ray; from ray import serve; "
        f"ray.init(address={address!r}, namespace='inferhouse', log_to_driver=False); "
        "print(json.dumps(sorted(serve.status().applications)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True, env=_env()
    )
    names: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return names


def _env() -> dict[str, str]:
    return {**os.environ, **cluster_env()}


def test_health_names_ray_and_the_default_endpoint_embeds_as_in_process(
    server: RunningServer,
    reference_model: Any,
) -> None:
    health = requests.get(server.url + "/health", headers=server.headers, timeout=30).json()
    assert health["runtime"] == "ray"
    texts = ["a replica in another process", "the same vectors as in-process"]
    reply = requests.post(
        server.url + "/v1/embeddings",
        json={"input": texts, "model": "sentence-transformers/all-MiniLM-L6-v2"},
        headers=server.headers,
        timeout=120,
    )
    assert reply.status_code == 200, reply.text
    vectors = [item["embedding"] for item in reply.json()["data"]]
    expected = reference_model.encode(texts, normalize_embeddings=True)
    for got, want in zip(vectors, expected, strict=True):
        assert max(abs(a - float(b)) for a, b in zip(got, want, strict=True)) < 1e-4
    # The backend a Ray replica loaded, and why, as the server page shows it.
    details = requests.get(server.url + "/api/server", headers=server.headers, timeout=30).json()
    loaded = {endpoint["name"]: endpoint["loaded"] for endpoint in details["endpoints"]}
    assert loaded["all-minilm-l6-v2"] == "torch: asked for"


def test_replicas_of_one_endpoint_serve_from_both_nodes(server: RunningServer, where_model: Path) -> None:
    _create(server, "spread", where_model, {"minReplica": 3, "maxReplica": 3})
    assert _status(server, "spread")["readyReplica"] == 3
    nodes: set[str] = set()
    for _ in range(60):
        reply = _call(server, "spread")
        assert reply.status_code == 200, reply.text
        nodes.add(reply.json()["node"])
        if len(nodes) == 2:
            break
    assert len(nodes) == 2, f"every call was served on {nodes}"
    # What the replica logged while loading, in its own process, is in the endpoint's logs.
    logs = requests.get(f"{server.url}{API}/spread/logs", headers=server.headers, timeout=30).text
    assert "where: the where handler is loaded" in logs
    assert "replica ready on Ray node" in logs


def test_a_burst_scales_the_deployment_up_and_quiet_scales_it_down(
    server: RunningServer, where_model: Path
) -> None:
    scaling = {"minReplica": 1, "maxReplica": 3, "measure": {"pendingRequests": 1}}
    _create(server, "bursty", where_model, scaling)
    assert _status(server, "bursty")["readyReplica"] == 1
    stop = threading.Event()
    failures: list[int] = []

    def keep_calling() -> None:
        while not stop.is_set():
            reply = _call(server, "bursty", sleep=0.3)
            if reply.status_code != 200:
                failures.append(reply.status_code)

    callers = [threading.Thread(target=keep_calling) for _ in range(6)]
    for caller in callers:
        caller.start()
    seen: list[tuple[int, int]] = []  # (ready, target) at each look

    def scaled_to(ready: int) -> bool:
        status = _status(server, "bursty")
        seen.append((status["readyReplica"], status["targetReplica"]))
        return bool(status["readyReplica"] == ready and status["targetReplica"] == ready)

    try:
        _until(lambda: scaled_to(3), "Ray scales to maxReplica")
    finally:
        stop.set()
        for caller in callers:
            caller.join()
    assert failures == []
    # The target counts the replicas Serve is starting: it leads the ready count up, never trails it.
    assert all(target >= ready for ready, target in seen), seen
    _until(lambda: scaled_to(1), "quiet brings it back to minReplica")


def test_a_hardware_usage_endpoint_scales_on_its_replicas_cpu(
    server: RunningServer, where_model: Path
) -> None:
    # A replica asks for half a CPU: one busy thread reads 200%, idle a few percent.
    scaling = {"minReplica": 1, "maxReplica": 2, "measure": {"hardwareUsage": 50}}
    _create(server, "hot", where_model, scaling)
    stop = threading.Event()
    failures: list[int] = []

    def keep_spinning() -> None:
        while not stop.is_set():
            reply = _call(server, "hot", spin=0.3)
            if reply.status_code != 200:
                failures.append(reply.status_code)

    caller = threading.Thread(target=keep_spinning)
    caller.start()
    try:
        _until(lambda: _status(server, "hot")["readyReplica"] == 2, "busy CPUs scale it up")
    finally:
        stop.set()
        caller.join()
    assert failures == []
    _until(lambda: _status(server, "hot")["readyReplica"] == 1, "idle CPUs scale it back down")


def test_the_lifecycle_on_ray_and_delete_removes_the_serve_application(
    server: RunningServer, where_model: Path, ray_cluster: str
) -> None:
    name = "cycle"
    _create(server, name, where_model, {"minReplica": 1, "maxReplica": 1})
    assert len([app for app in _serve_applications(ray_cluster) if f"-{name}-" in app]) == 1

    # An update in the background of steady calls: none fails.
    stop = threading.Event()
    failures: list[str] = []

    def keep_calling() -> None:
        while not stop.is_set():
            reply = _call(server, name)
            if reply.status_code != 200:
                failures.append(reply.text)

    caller = threading.Thread(target=keep_calling)
    caller.start()
    try:
        update = {"compute": {"scaling": {"minReplica": 2, "maxReplica": 2}}}
        changed = requests.put(f"{server.url}{API}/{name}", json=update, headers=server.headers, timeout=120)
        assert changed.status_code == 200, changed.text
        _until(lambda: _status(server, name)["readyReplica"] == 2, "the update is running")
    finally:
        stop.set()
        caller.join()
    assert failures == []

    paused = requests.post(f"{server.url}{API}/{name}/pause", headers=server.headers, timeout=120)
    assert paused.status_code == 200, paused.text
    assert _call(server, name).status_code == 503
    resumed = requests.post(f"{server.url}{API}/{name}/resume", headers=server.headers, timeout=120)
    assert resumed.status_code == 200, resumed.text
    _until(lambda: _status(server, name)["state"] == "running", "resumed")
    assert _call(server, name).status_code == 200

    cold = requests.post(f"{server.url}{API}/{name}/scale-to-zero", headers=server.headers, timeout=120)
    assert cold.status_code == 200, cold.text
    assert _status(server, name)["readyReplica"] == 0
    woken = _call(server, name, X_Scale_Up_Timeout="120")
    assert woken.status_code == 200, woken.text

    gone = requests.delete(f"{server.url}{API}/{name}", headers=server.headers, timeout=120)
    assert gone.status_code == 200, gone.text
    _until(
        lambda: not [app for app in _serve_applications(ray_cluster) if f"-{name}-" in app],
        "the deleted endpoint's Serve application is gone",
    )


def test_a_replica_process_that_dies_fails_its_call_with_503_and_is_replaced(
    server: RunningServer, where_model: Path
) -> None:
    name = "mortal"
    _create(server, name, where_model, {"minReplica": 2, "maxReplica": 2})
    started = time.monotonic()
    died = _call(server, name, exit=True)
    assert died.status_code == 503, died.text
    assert "send it again" in died.json()["error"]
    assert time.monotonic() - started < DEADLINE_S
    # The other replica answers meanwhile, and Serve brings the count back to two.
    assert _call(server, name).status_code == 200
    _until(lambda: _status(server, name)["readyReplica"] == 2, "Serve replaces the dead replica")
    for _ in range(10):
        assert _call(server, name).status_code == 200


def test_text_generation_runs_in_a_replica_and_streams(
    server: RunningServer, tmp_path_factory: pytest.TempPathFactory, ray_cluster: str
) -> None:
    from inferhouse.engine.generation import load_text_generator
    from inferhouse.engine.generation.contract import GenerationParams

    model = build_tiny_causal_lm(tmp_path_factory.mktemp("models") / "llm")
    deploy_endpoint(server, "llm", model, "text-generation")
    assert [app for app in _serve_applications(ray_cluster) if "-llm-" in app]
    prompt, base = "Once upon a time", f"{server.url}/endpoints/llm"
    body = {"inputs": prompt, "parameters": {"max_new_tokens": 6}}

    generated = requests.post(f"{base}/generate", json=body, headers=server.headers, timeout=120)
    assert generated.status_code == 200, generated.text
    # Greedy decoding in the replica gives what the same model gives loaded in this process.
    reference = load_text_generator(model, "text-generation", name="reference", env={})
    try:
        expected = asyncio.run(reference.generate(prompt, GenerationParams(max_new_tokens=6)))
    finally:
        reference.close()
    assert generated.json()["generated_text"] == expected.text

    with requests.post(
        f"{base}/generate_stream", json=body, headers=server.headers, stream=True, timeout=120
    ) as streamed:
        assert streamed.status_code == 200, streamed.text
        events = sse_events(streamed)
    assert [event["index"] for event in events] == [1, 2, 3, 4, 5, 6]
    assert events[-1]["generated_text"] == expected.text

    # Refused in the replica before any token: the route still answers with TGI's JSON error.
    refused = {"inputs": prompt, "parameters": {"max_new_tokens": 100_000}}
    bad = requests.post(f"{base}/generate_stream", json=refused, headers=server.headers, timeout=120)
    assert bad.status_code == 422, bad.text
    assert bad.json()["error_type"] == "validation"

    # The chat template renders in the API server, from the model's tokenizer.
    chat = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 4}
    answered = requests.post(f"{base}/v1/chat/completions", json=chat, headers=server.headers, timeout=120)
    assert answered.status_code == 200, answered.text
    assert answered.json()["usage"]["completion_tokens"] == 4
