"""``inferhouse endpoints`` and ``inferhouse token create --endpoint`` run as commands against a real
server."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from inferhouse.client import Client
from tests.conftest import BUNDLED_ID
from tests.support.server import RunningServer

TASK = "sentence-embeddings"
WAIT_S = "120"


def _name(node_name: str) -> str:
    """A unique endpoint name for a test, short enough for the Inference Endpoints limit of 32."""
    slug = re.sub(r"[^a-z0-9]+", "-", node_name.lower()).removeprefix("test-")[:20].strip("-")
    return f"{slug}-{hashlib.sha1(node_name.encode()).hexdigest()[:6]}"


def _env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "COLUMNS": "250",  # rich tables wider than a pipe's default 80 columns
            "INFERHOUSE_URL": server.url,
            "INFERHOUSE_TOKEN": server.token or "",
            "INFERHOUSE_DATA_DIR": str(tmp_path / "no-data-dir"),
        }
    )
    return env


def _run(
    env: dict[str, str], *args: str, check: bool = True, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "inferhouse", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _json(env: dict[str, str], *args: str) -> Any:
    return json.loads(_run(env, *args, "--json").stdout)


def _infer(url: str, token: str | None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(url, json={"inputs": "a happy dog"}, headers=headers, timeout=60)


@pytest.fixture
def env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    return _env(server, tmp_path)


@pytest.fixture
def name(server: RunningServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A name for the test's endpoint; whatever the test left under it is deleted afterwards."""
    made = _name(request.node.name)
    yield made
    with Client(server.url, token=server.token) as client:
        if made in [found.name for found in client.list_endpoints()]:
            client.delete_endpoint(made)


@pytest.fixture
def endpoint(server: RunningServer, name: str) -> str:
    """A running endpoint on the bundled model, made through the SDK."""
    with Client(server.url, token=server.token) as client:
        client.create_endpoint(name, BUNDLED_ID, task=TASK)
        client.wait_endpoint(name, timeout=float(WAIT_S))
    return name


def test_create_list_describe_and_delete(env: dict[str, str], name: str, server: RunningServer) -> None:
    created = _json(
        env,
        "endpoints",
        "create",
        name,
        "--repository",
        BUNDLED_ID,
        "--task",
        TASK,
        "--wait",
        "--timeout",
        WAIT_S,
    )
    assert (created["name"], created["state"], created["repository"], created["task"]) == (
        name,
        "running",
        BUNDLED_ID,
        TASK,
    )
    assert created["url"] == f"{server.url}/endpoints/{name}"
    reply = _infer(created["url"], server.token)
    assert reply.status_code == 200, reply.text
    assert len(reply.json()["embeddings"]) == 384

    listed = {found["name"]: found for found in _json(env, "endpoints", "list")}
    assert listed[name]["state"] == "running"
    row = next(line for line in _run(env, "endpoints", "list").stdout.splitlines() if name in line)
    assert "running" in row
    assert BUNDLED_ID in row

    described = _json(env, "endpoints", "describe", name)
    assert (described["min_replica"], described["max_replica"], described["type"]) == (1, 1, "protected")
    assert re.search(r"\bstate\W+running\b", _run(env, "endpoints", "describe", name).stdout)

    kept = _run(env, "endpoints", "delete", name, check=False, stdin="n\n")
    assert kept.returncode != 0
    assert _json(env, "endpoints", "describe", name)["state"] == "running"

    assert _run(env, "endpoints", "delete", name, "--yes").stdout.strip() == f"deleted endpoint {name}"
    missing = _run(env, "endpoints", "describe", name, check=False)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: 404")
    assert name in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert _infer(created["url"], server.token).status_code == 404


def test_create_with_options_then_update(env: dict[str, str], name: str) -> None:
    created = _json(
        env,
        "endpoints",
        "create",
        name,
        "--repository",
        BUNDLED_ID,
        "--task",
        TASK,
        "--min-replica",
        "0",
        "--scale-to-zero-timeout",
        "15",
        "--type",
        "public",
        "--env",
        "GREETING=hello=world",
        "--wait",
        "--timeout",
        WAIT_S,
    )
    assert (created["min_replica"], created["scale_to_zero_timeout"], created["type"]) == (0, 15, "public")
    assert _infer(created["url"], None).status_code == 200  # public: no token needed

    _run(env, "endpoints", "update", name, "--max-replica", "2", "--wait", "--timeout", WAIT_S)
    described = _json(env, "endpoints", "describe", name)
    assert (described["max_replica"], described["state"]) == (2, "running")
    # An update changes only what it names.
    assert (described["min_replica"], described["scale_to_zero_timeout"], described["task"]) == (0, 15, TASK)

    _run(env, "endpoints", "update", name, "--type", "protected")
    assert _infer(created["url"], None).status_code == 401


def test_scaling_metric_and_threshold_from_the_cli(
    env: dict[str, str], name: str, server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants, get_inference_endpoint

    # huggingface_hub reads back what the CLI set, from the same management API.
    monkeypatch.setattr(constants, "INFERENCE_ENDPOINTS_ENDPOINT", server.url + "/v2")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # it refuses even loopback when offline

    def measure() -> Any:
        fetched = get_inference_endpoint(name, namespace="local", token=server.token)
        return fetched.raw["compute"]["scaling"]["measure"]

    options = ["--repository", BUNDLED_ID, "--task", TASK, "--max-replica", "2"]
    created = _json(
        env,
        "endpoints",
        "create",
        name,
        *options,
        "--scaling-metric",
        "hardwareUsage",
        "--scaling-threshold",
        "70",
    )
    assert (created["scaling_metric"], created["scaling_threshold"]) == ("hardwareUsage", 70.0)
    assert measure() == {"hardwareUsage": 70.0}

    _run(env, "endpoints", "update", name, "--scaling-threshold", "55.5")  # keeps the metric
    with Client(server.url, token=server.token) as client:
        described = client.describe_endpoint(name)
    assert (described.scaling_metric, described.scaling_threshold, described.max_replica) == (
        "hardwareUsage",
        55.5,
        2,
    )
    over = _run(env, "endpoints", "update", name, "--scaling-threshold", "150", check=False)
    assert (over.returncode, over.stderr.strip()) == (
        2,
        "error: the scaling threshold of hardwareUsage is a CPU percentage, at most 100, got 150",
    )
    bad = _run(env, "endpoints", "update", name, "--scaling-metric", "queueLength", check=False)
    assert (bad.returncode, bad.stderr.strip()) == (
        2,
        "error: the scaling metric must be pendingRequests or hardwareUsage, got 'queueLength'",
    )
    assert measure() == {"hardwareUsage": 55.5}  # refused changes changed nothing

    _run(env, "endpoints", "update", name, "--scaling-metric", "pendingRequests", "--scaling-threshold", "3")
    assert measure() == {"pendingRequests": 3.0}
    _run(env, "endpoints", "update", name, "--scaling-metric", "hardwareUsage")  # its default threshold
    assert measure() == {"hardwareUsage": None}
    assert _json(env, "endpoints", "describe", name)["scaling_metric"] == "hardwareUsage"


def test_pause_resume_and_scale_to_zero(env: dict[str, str], endpoint: str, server: RunningServer) -> None:
    url = f"{server.url}/endpoints/{endpoint}"
    assert _json(env, "endpoints", "pause", endpoint)["state"] == "paused"
    assert _json(env, "endpoints", "describe", endpoint)["state"] == "paused"
    assert _infer(url, server.token).status_code == 503

    waited = _json(env, "endpoints", "resume", endpoint, "--wait", "--timeout", WAIT_S)
    assert waited["state"] == "running"
    assert _infer(url, server.token).status_code == 200
    # Resuming a running endpoint is not an error.
    assert _json(env, "endpoints", "resume", endpoint)["state"] == "running"

    assert _json(env, "endpoints", "scale-to-zero", endpoint)["state"] == "scaledToZero"
    assert _json(env, "endpoints", "describe", endpoint)["state"] == "scaledToZero"
    woken = _infer(url, server.token)  # answered "loading" at once, and loads the model again
    assert (woken.status_code, woken.json()["error_type"]) == (503, "loading")
    with Client(server.url, token=server.token) as client:
        assert client.wait_endpoint(endpoint, timeout=float(WAIT_S)).state == "running"
    assert _infer(url, server.token).status_code == 200


def test_logs(env: dict[str, str], endpoint: str) -> None:
    lines = _run(env, "endpoints", "logs", endpoint).stdout.splitlines()
    assert lines
    assert _json(env, "endpoints", "logs", endpoint, "--tail", "1") == lines[-1:]


def test_wait_reports_a_failed_endpoint(env: dict[str, str], name: str) -> None:
    failed = _run(
        env, "endpoints", "create", name, "--repository", "nobody/no-such-model", "--wait", check=False
    )
    assert failed.returncode == 1
    assert failed.stderr.startswith(
        f"error: endpoint {name} failed (state failed): Model nobody/no-such-model"
    )
    assert len(failed.stderr.strip().splitlines()) == 1
    assert _json(env, "endpoints", "describe", name)["state"] == "failed"


def test_refusals_end_with_one_line(env: dict[str, str], endpoint: str) -> None:
    taken = _run(env, "endpoints", "create", endpoint, "--repository", BUNDLED_ID, check=False)
    assert taken.returncode == 1
    assert taken.stderr.startswith("error: 409")
    bad_env = _run(
        env, "endpoints", "create", "x", "--repository", BUNDLED_ID, "--env", "NOEQUALS", check=False
    )
    assert (bad_env.returncode, bad_env.stderr.strip()) == (2, "error: --env takes KEY=VALUE, not 'NOEQUALS'")
    for command in (["pause"], ["resume"], ["scale-to-zero"], ["logs"], ["update", "--max-replica", "2"]):
        missing = _run(env, "endpoints", command[0], "no-such-endpoint", *command[1:], check=False)
        assert missing.returncode == 1, command
        assert missing.stderr.startswith("error: 404"), (command, missing.stderr)
        assert len(missing.stderr.strip().splitlines()) == 1
    refused = _run(env, "endpoints", "list", "--token", "wrong", check=False)
    assert (refused.returncode, refused.stderr.startswith("error: 401")) == (1, True)


def test_token_scoped_to_endpoints(
    env: dict[str, str], endpoint: str, server: RunningServer, tmp_path: Path
) -> None:
    # Written into the running server's data directory, as an operator would do.
    token = _run(
        env, "token", "create", "--name", "scoped", "--endpoint", endpoint, "--data-dir", str(server.data_dir)
    ).stdout.strip()
    assert token.startswith("ih_")
    assert _infer(f"{server.url}/endpoints/{endpoint}", token).status_code == 200
    assert _infer(f"{server.url}/endpoints/all-minilm-l6-v2", token).status_code == 403
    denied = _run(env, "endpoints", "list", "--token", token, check=False)
    assert (denied.returncode, denied.stderr.startswith("error: 403")) == (1, True)
    general = _run(env, "token", "create", "--data-dir", str(server.data_dir)).stdout.strip()
    assert _infer(f"{server.url}/endpoints/all-minilm-l6-v2", general).status_code == 200

    from inferhouse.auth import SqliteTokenTable, TokenStore
    from inferhouse.storage import Database

    data_dir = tmp_path / "other"
    two = _run(env, "token", "create", "--endpoint", "a", "--endpoint", "b", "--data-dir", str(data_dir))
    db = Database.in_data_dir(data_dir)
    try:
        principal = TokenStore(SqliteTokenTable(db)).lookup(two.stdout.strip())
    finally:
        db.close()
    assert principal is not None
    assert principal.endpoints == frozenset({"a", "b"})


def test_token_granted_managing_an_endpoint(
    env: dict[str, str], endpoint: str, server: RunningServer
) -> None:
    token = _run(
        env, "token", "create", "--name", "manager", "--manage", endpoint, "--data-dir", str(server.data_dir)
    ).stdout.strip()
    listed = _run(env, "endpoints", "list", "--token", token)
    assert endpoint in listed.stdout
    assert "all-minilm-l6-v2" not in listed.stdout  # declared: the admin's to manage
    assert _run(env, "endpoints", "pause", endpoint, "--token", token).returncode == 0
    refused = _run(env, "endpoints", "pause", "all-minilm-l6-v2", "--token", token, check=False)
    assert (refused.returncode, refused.stderr.startswith("error: 403")) == (1, True)
    assert _infer(f"{server.url}/endpoints/{endpoint}", token).status_code == 503  # granted, and paused
