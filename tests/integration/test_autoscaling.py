"""Autoscaling through HTTP: a burst of slow calls moves the management API's targetReplica and readyReplica
up to maxReplica, quiet brings them back to minReplica, and X-Scale-Up-Timeout wakes a cold endpoint."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from tests.support.models import build_tiny_bare_bert, write_custom_handler
from tests.support.server import RunningServer, start_server

API = "/v2/endpoint/local"
NAME = "scales"
# Short windows, so a test sees a scale in about a second; deadlines below leave room for busy cores.
FAST = {
    "INFERHOUSE_DEFAULT_ENDPOINT": "false",
    "INFERHOUSE_AUTOSCALE_INTERVAL_SECONDS": "0.1",
    "INFERHOUSE_SCALE_UP_SECONDS": "0.2",
    "INFERHOUSE_SCALE_DOWN_SECONDS": "0.5",
}
DEADLINE_S = 30.0
SLOW_HANDLER = """
import time


class EndpointHandler:
    def __init__(self, path):
        pass

    def __call__(self, data):
        time.sleep(0.3)
        return {"echo": data["inputs"]}
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    model = build_tiny_bare_bert(tmp_path_factory.mktemp("models") / "slow")
    write_custom_handler(model, SLOW_HANDLER)
    running = start_server(tmp_path_factory.mktemp("data"), env=FAST)
    body = {
        "name": NAME,
        "model": {"repository": str(model), "task": "custom"},
        "compute": {
            "scaling": {"minReplica": 1, "maxReplica": 3, "measure": {"pendingRequests": 1}},
        },
    }
    created = requests.post(running.url + API, json=body, headers=running.headers, timeout=30)
    assert created.status_code == 200, created.text
    yield running
    running.stop()


def _status(server: RunningServer) -> dict[str, Any]:
    reply = requests.get(f"{server.url}{API}/{NAME}", headers=server.headers, timeout=30)
    assert reply.status_code == 200, reply.text
    status: dict[str, Any] = reply.json()["status"]
    return status


def _until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_S
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def _replicas(server: RunningServer) -> tuple[int, int]:
    status = _status(server)
    return status["targetReplica"], status["readyReplica"]


def _call(server: RunningServer, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{server.url}/endpoints/{NAME}",
        json={"inputs": "hi"},
        headers=server.headers | (headers or {}),
        timeout=60,
    )


def test_a_burst_scales_up_to_max_replica_and_quiet_scales_back_down(server: RunningServer) -> None:
    _until(lambda: _status(server)["state"] == "running", "the endpoint runs")
    assert _replicas(server) == (1, 1)
    stop = threading.Event()
    failures: list[int] = []

    def keep_calling() -> None:
        while not stop.is_set():
            reply = _call(server)
            if reply.status_code != 200:
                failures.append(reply.status_code)

    callers = [threading.Thread(target=keep_calling) for _ in range(8)]
    for caller in callers:
        caller.start()
    try:
        _until(lambda: _status(server)["targetReplica"] == 3, "targetReplica is maxReplica")
        _until(lambda: _replicas(server) == (3, 3), "three replicas are ready")
    finally:
        stop.set()
        for caller in callers:
            caller.join()
    assert failures == []
    metrics = requests.get(server.url + "/metrics", headers=server.headers, timeout=30).text
    assert f'inferhouse_endpoint_target_replicas{{endpoint="{NAME}"}} 3.0' in metrics
    _until(lambda: _replicas(server) == (1, 1), "quiet brings it back to minReplica")
    assert _status(server)["state"] == "running"
    logs = requests.get(f"{server.url}{API}/{NAME}/logs", headers=server.headers, timeout=30).text
    assert "scaling from 1 to 3 replica(s)" in logs


def test_a_cold_call_with_x_scale_up_timeout_waits_for_the_endpoint(server: RunningServer) -> None:
    cold = requests.post(f"{server.url}{API}/{NAME}/scale-to-zero", headers=server.headers, timeout=30)
    assert cold.status_code == 200, cold.text
    assert _replicas(server) == (0, 0)
    bad = _call(server, {"X-Scale-Up-Timeout": "soon"})
    assert bad.status_code == 422
    assert "X-Scale-Up-Timeout" in bad.json()["error"]
    reply = _call(server, {"X-Scale-Up-Timeout": "60"})
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"echo": "hi"}
    assert _replicas(server) == (1, 1)
