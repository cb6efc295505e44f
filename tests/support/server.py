"""Start ``inferhouse serve`` for real, on a free loopback port, and stop it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

START_TIMEOUT_S = 180


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningServer:
    url: str
    token: str | None
    data_dir: Path
    process: subprocess.Popen[bytes]
    log_path: Path
    headers: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks run, as in a crash."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


LOADING_STATES = {"pending", "initializing", "updating"}


def start_server(
    data_dir: Path,
    *,
    token: str | None = "test-admin-token",
    env: dict[str, str] | None = None,
    wait_for_endpoints: bool = True,
) -> RunningServer:
    """Start a server; by default return once every endpoint it restores or declares is done loading."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    child_env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    # torch unless a test asks otherwise: ONNX export and its speed probe are tested on their own. No
    # admission limit unless a test sets one (test_overload does): on a loaded host a burst of a few
    # dozen requests can be estimated past the default second and answered 429, which would turn a test
    # of counting or merging into a test of the host's speed.
    child_env.update(
        {
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "INFERHOUSE_BACKEND": "torch",
            "INFERHOUSE_MAX_QUEUE_SECONDS": "0",
        }
    )
    if token is not None:
        child_env["INFERHOUSE_ADMIN_TOKEN"] = token
    child_env.update(env or {})
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "inferhouse", "serve", "--port", str(port), "--data-dir", str(data_dir)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=child_env,
        )
    server = RunningServer(f"http://127.0.0.1:{port}", token, data_dir, process, log_path)
    if token is not None:
        server.headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}:\n{server.log()}")
        try:
            # /health names every endpoint only to an admin token (the generated one once it exists).
            health = requests.get(server.url + "/health", headers=admin_headers(server), timeout=1)
            states = set(health.json()["endpoints"].values()) if health.status_code == 200 else {"down"}
            if health.status_code == 200 and not (wait_for_endpoints and states & LOADING_STATES):
                return server
        except (requests.ConnectionError, requests.Timeout):  # not up yet, or busy loading (ONNX export)
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"server did not start in {START_TIMEOUT_S}s:\n{server.log()}")


def admin_headers(server: RunningServer) -> dict[str, str]:
    """The admin token's header: the one the server was given, else the one it generated (if yet)."""
    if server.headers:
        return server.headers
    saved = server.data_dir / "admin-token"
    if saved.exists() and (token := saved.read_text().strip()):
        return {"Authorization": f"Bearer {token}"}
    return {}


def index_name_for(node_name: str, prefix: str) -> str:
    """A valid, unique index name for a (possibly parametrized) test."""
    import hashlib
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", node_name.lower()).strip("-")[:30].strip("-")
    return f"{prefix}-{slug}-{hashlib.sha1(node_name.encode()).hexdigest()[:6]}"


def deploy_endpoint(
    server: RunningServer,
    name: str,
    model: Path | str,
    task: str,
    *,
    access: str = "protected",
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> None:
    """Create an endpoint for a model through the management API and wait until it runs."""
    api = f"{server.url}/v2/endpoint/local"
    body = {
        "name": name,
        "type": access,
        "model": {"repository": str(model), "task": task, "framework": "pytorch", "env": env or {}},
        "compute": {"accelerator": "cpu", "scaling": {"minReplica": 1, "maxReplica": 1}},
    }
    created = requests.post(api, json=body, headers=server.headers, timeout=30)
    assert created.status_code == 200, created.text
    deadline = time.monotonic() + timeout
    while True:
        described = requests.get(f"{api}/{name}", headers=server.headers, timeout=30)
        assert described.status_code == 200, described.text
        state = described.json()["status"]["state"]
        if state not in LOADING_STATES:
            break
        assert time.monotonic() < deadline, f"endpoint {name} still {state}"
        time.sleep(0.2)
    assert state == "running", f"endpoint {name} is {state}: {described.json()['status'].get('message')}"


def delete_endpoint(server: RunningServer, name: str) -> None:
    requests.delete(f"{server.url}/v2/endpoint/local/{name}", headers=server.headers, timeout=30)
