"""Two ``inferhouse serve`` processes on one PostgreSQL (INFERHOUSE_DATABASE_URL): the admin token one
generates and a token the CLI creates work on both at once, an inference configuration created or
deleted through one is seen by the other at once, and no state goes to SQLite."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from tests.support.fake_upstream import Reply, running_upstream
from tests.support.postgres import PostgresServer
from tests.support.server import RunningServer
from tests.support.server_pair import eventually, two_servers

QUIET = {"INFERHOUSE_DEFAULT_ENDPOINT": "false"}
CLI = [sys.executable, "-m", "inferhouse"]


@dataclass
class Shared:
    database_url: str
    first: RunningServer
    second: RunningServer


@pytest.fixture(scope="module")
def shared(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shared]:
    url = postgres_server.database_for("two-servers")
    # Servers sharing a database share the key that seals remote services' API keys.
    env = {**QUIET, "INFERHOUSE_DATABASE_URL": url, "INFERHOUSE_SECRET_KEY": "shared passphrase"}
    dirs = tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second")
    with two_servers(*dirs, env, token=None) as (first, second):
        yield Shared(url, first, second)


def _metrics(server: RunningServer, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(server.url + "/metrics", headers=headers, timeout=10).status_code


def test_the_admin_token_is_generated_once_and_works_on_both(shared: Shared) -> None:
    token = (shared.first.data_dir / "admin-token").read_text().strip()
    assert not (shared.second.data_dir / "admin-token").exists()  # it found the first one's in the database
    assert _metrics(shared.first, token) == 200
    assert _metrics(shared.second, token) == 200
    assert _metrics(shared.second, "ih_forged") == 401


def test_a_token_the_cli_creates_works_on_both_at_once(shared: Shared) -> None:
    made = subprocess.run(
        [*CLI, "token", "create", "--name", "ci", "--database-url", shared.database_url],
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip()
    assert token.startswith("ih_")
    assert _metrics(shared.first, token) == 200
    assert _metrics(shared.second, token) == 200


def test_health_names_the_database_and_no_sqlite_file_is_made(shared: Shared) -> None:
    for server in (shared.first, shared.second):
        assert requests.get(server.url + "/health", timeout=10).json()["database"] == "postgresql"
        assert not (server.data_dir / "inferhouse.db").exists()
        assert "state in postgresql://postgres@127.0.0.1" in server.log()


def test_an_unreachable_database_ends_token_create_with_one_line(shared: Shared) -> None:
    made = subprocess.run(
        [*CLI, "token", "create", "--database-url", "postgresql://app:s3cret@127.0.0.1:1/state"],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 1
    assert made.stderr.startswith(
        "error: Cannot connect to PostgreSQL at postgresql://app:***@127.0.0.1:1/state"
    )
    assert "s3cret" not in made.stderr


def _admin(shared: Shared) -> dict[str, str]:
    return {"Authorization": "Bearer " + (shared.first.data_dir / "admin-token").read_text().strip()}


def test_an_inference_config_made_on_one_server_serves_on_the_other(shared: Shared) -> None:
    path = "/_inference/text_embedding/shared-remote"
    with running_upstream() as upstream:
        upstream.handler = lambda request: Reply(200, [[1.0, 2.0, 3.0] for _ in request.json()["inputs"]])
        body = {"service": "hugging_face", "service_settings": {"url": upstream.url, "api_key": "hf_k"}}
        created = requests.put(shared.first.url + path, json=body, headers=_admin(shared), timeout=30)
        assert created.status_code == 200, created.text

        def seen_on_second() -> bool:
            return (
                requests.get(shared.second.url + path, headers=_admin(shared), timeout=10).status_code == 200
            )

        assert eventually(seen_on_second)
        called = requests.post(
            shared.second.url + path, json={"input": ["hi"]}, headers=_admin(shared), timeout=30
        )
        assert called.status_code == 200, called.text
        assert upstream.received[-1].headers["authorization"] == "Bearer hf_k"  # opened with the shared key

    deleted = requests.delete(shared.second.url + path, headers=_admin(shared), timeout=30)
    assert deleted.status_code == 200, deleted.text
    assert eventually(
        lambda: requests.get(shared.first.url + path, headers=_admin(shared), timeout=10).status_code == 404
    )
