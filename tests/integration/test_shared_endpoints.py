"""Two ``inferhouse serve`` processes on one PostgreSQL share endpoints: one created through either answers
through both, and a pause, resume, update, scale to zero or delete through one shows on the other within
seconds. With pgvector, a server killed with SIGKILL in the middle of a stream of upserts loses none it
acknowledged: the other serves every one.

Tokens, inference configurations and indexes shared the same way are tested in test_postgres_state.py
and test_pgvector_shared.py."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.support.postgres import PostgresServer
from tests.support.server import RunningServer, deploy_endpoint, start_server
from tests.support.server_pair import eventually, two_servers

API = "/v2/endpoint/local"
SETTLE_SECONDS = 15


@pytest.fixture(scope="module")
def servers(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, RunningServer]]:
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_DATABASE_URL": postgres_server.database_for("shared-endpoints"),
        "INFERHOUSE_VECTOR_STORE": "pgvector",
    }
    with two_servers(tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second"), env) as pair:
        yield pair


def _eventually(check: Callable[[], bool], seconds: float = SETTLE_SECONDS) -> bool:
    return eventually(check, seconds)


def _described(server: RunningServer, name: str) -> requests.Response:
    return requests.get(f"{server.url}{API}/{name}", headers=server.headers, timeout=10)


def _state(server: RunningServer, name: str) -> str | None:
    described = _described(server, name)
    return described.json()["status"]["state"] if described.status_code == 200 else None


def _embed(server: RunningServer, name: str) -> requests.Response:
    return requests.post(
        f"{server.url}/endpoints/{name}", json={"inputs": "shared"}, headers=server.headers, timeout=30
    )


def _manage(server: RunningServer, name: str, action: str) -> dict[str, Any]:
    done = requests.post(f"{server.url}{API}/{name}/{action}", headers=server.headers, timeout=30)
    assert done.status_code == 200, done.text
    reply: dict[str, Any] = done.json()
    return reply


def test_an_endpoint_created_on_one_server_follows_every_change_on_the_other(
    servers: tuple[RunningServer, RunningServer], tiny_model_dir: Path
) -> None:
    first, second = servers
    name = "shared-embed"
    deploy_endpoint(first, name, tiny_model_dir, "feature-extraction")
    assert _eventually(lambda: _state(second, name) == "running"), _described(second, name).text
    through_first, through_second = _embed(first, name), _embed(second, name)
    assert through_second.status_code == 200, through_second.text
    assert through_second.json() == through_first.json()  # one model, served by both

    _manage(second, name, "pause")
    assert _eventually(lambda: _state(first, name) == "paused")
    paused = _embed(first, name)
    assert (paused.status_code, paused.json()["error_type"]) == (503, "paused")

    _manage(first, name, "resume")
    assert _eventually(lambda: _state(second, name) == "running")
    assert _embed(second, name).status_code == 200

    changes = {"type": "public", "compute": {"scaling": {"minReplica": 1, "maxReplica": 2}}}
    updated = requests.put(f"{second.url}{API}/{name}", json=changes, headers=second.headers, timeout=30)
    assert updated.status_code == 200, updated.text

    def updated_on_first() -> bool:
        described = _described(first, name).json()
        scaling = described["compute"]["scaling"]
        return described["status"]["state"] == "running" and (described["type"], scaling["maxReplica"]) == (
            "public",
            2,
        )

    assert _eventually(updated_on_first), _described(first, name).text
    public = requests.post(f"{first.url}/endpoints/{name}", json={"inputs": "no token"}, timeout=30)
    assert public.status_code == 200, public.text

    _manage(first, name, "scale-to-zero")
    assert _eventually(lambda: _state(second, name) == "scaledToZero")

    deleted = requests.delete(f"{second.url}{API}/{name}", headers=second.headers, timeout=30)
    assert deleted.status_code == 200, deleted.text
    assert _eventually(lambda: _described(first, name).status_code == 404)
    assert _embed(first, name).status_code == 404


def test_upserts_a_killed_server_acknowledged_are_all_served_by_the_other(
    servers: tuple[RunningServer, RunningServer], postgres_server: PostgresServer, tmp_path: Path
) -> None:
    _, survivor = servers
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_DATABASE_URL": postgres_server.database_for("shared-endpoints"),
        "INFERHOUSE_VECTOR_STORE": "pgvector",
    }
    doomed = start_server(tmp_path / "doomed", env=env)
    index = "killed-writer"
    try:
        made = requests.post(
            f"{doomed.url}/indexes",
            json={"name": index, "dimension": 4, "metric": "cosine", "spec": {"serverless": {}}},
            headers={"Api-Key": doomed.token or ""},
            timeout=30,
        )
        assert made.status_code == 201, made.text
        acknowledged = _upsert_until_killed(doomed, index)
    finally:
        doomed.kill()
    assert len(acknowledged) >= 20  # the stream ran for a while before the kill
    host, key = f"{survivor.url}/indexes/{index}", {"Api-Key": survivor.token or ""}
    assert _eventually(lambda: requests.get(host + "/describe_index_stats", headers=key, timeout=10).ok)
    missing = []
    for start in range(0, len(acknowledged), 100):
        ids = acknowledged[start : start + 100]
        fetched = requests.get(host + "/vectors/fetch", params={"ids": ids}, headers=key, timeout=30)
        assert fetched.status_code == 200, fetched.text
        missing += sorted(set(ids) - set(fetched.json()["vectors"]))
    assert missing == []


def _upsert_until_killed(server: RunningServer, index: str) -> list[str]:
    """Upsert batches of ten through ``server`` from a thread, kill it with SIGKILL while they flow, and
    return the ids of every batch it acknowledged."""
    acknowledged: list[str] = []
    stop = threading.Event()

    def stream() -> None:
        batch = 0
        while not stop.is_set():
            ids = [f"v{batch}-{n}" for n in range(10)]
            vectors = [{"id": id_, "values": [1.0, float(n), 0.5, float(batch)]} for n, id_ in enumerate(ids)]
            try:
                reply = requests.post(
                    f"{server.url}/indexes/{index}/vectors/upsert",
                    json={"vectors": vectors},
                    headers={"Api-Key": server.token or ""},
                    timeout=10,
                )
            except requests.RequestException:  # killed mid-request: not acknowledged
                return
            if reply.status_code == 200:
                acknowledged.extend(ids)
            batch += 1

    writer = threading.Thread(target=stream, name="upserts")
    writer.start()
    try:
        assert _eventually(lambda: len(acknowledged) >= 30, seconds=20)
    finally:
        server.kill()
        stop.set()
        writer.join(timeout=30)
    return list(acknowledged)
