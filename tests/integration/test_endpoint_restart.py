"""Endpoints and their states survive a crash of the server process."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from tests.support.server import RunningServer, start_server

API = "/v2/endpoint/local"
NO_DEFAULT = {"INFERHOUSE_DEFAULT_ENDPOINT": "false"}


def _create(server: RunningServer, name: str, repository: Path, **scaling: int) -> None:
    body: dict[str, Any] = {
        "name": name,
        "model": {"repository": str(repository), "task": "sentence-embeddings"},
        "compute": {"scaling": {"minReplica": 1, "maxReplica": 1} | scaling},
    }
    res = requests.post(server.url + API, json=body, headers=server.headers, timeout=30)
    assert res.status_code == 200, res.text


def _states(server: RunningServer) -> dict[str, str]:
    items = requests.get(server.url + API, headers=server.headers, timeout=30).json()["items"]
    return {item["name"]: item["status"]["state"] for item in items}


def _wait_running(server: RunningServer, *names: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = _states(server)
        if all(states.get(name) == "running" for name in names):
            return
        time.sleep(0.2)
    raise AssertionError(f"not running: {_states(server)}")


def test_endpoints_come_back_in_their_states_after_kill(tmp_path: Path, endpoint_model_dir: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, env=NO_DEFAULT)
    try:
        _create(server, "keeps-running", endpoint_model_dir)
        _create(server, "stays-paused", endpoint_model_dir)
        _create(server, "stays-cold", endpoint_model_dir, minReplica=0)
        _wait_running(server, "keeps-running", "stays-paused", "stays-cold")
        headers = server.headers
        assert requests.post(f"{server.url}{API}/stays-paused/pause", headers=headers, timeout=30).ok
        assert requests.post(f"{server.url}{API}/stays-cold/scale-to-zero", headers=headers, timeout=30).ok
        before = requests.post(
            server.url + "/endpoints/keeps-running", json={"inputs": "same"}, headers=headers, timeout=30
        ).json()
    finally:
        server.kill()

    again = start_server(data_dir, env=NO_DEFAULT)
    try:
        assert _states(again) == {
            "keeps-running": "running",
            "stays-paused": "paused",
            "stays-cold": "scaledToZero",
        }
        after = requests.post(
            again.url + "/endpoints/keeps-running", json={"inputs": "same"}, headers=again.headers, timeout=30
        ).json()
        assert after == before
        paused = requests.post(
            again.url + "/endpoints/stays-paused", json={"inputs": "x"}, headers=again.headers, timeout=30
        )
        assert paused.status_code == 503
        assert paused.json()["error_type"] == "paused"
    finally:
        again.stop()
