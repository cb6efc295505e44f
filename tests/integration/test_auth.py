"""Authentication: on by default, a generated admin token, more tokens from the CLI, off only on loopback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.server import RunningServer, start_server

QUIET = {"INFERHOUSE_DEFAULT_ENDPOINT": "false"}


@pytest.fixture(scope="module")
def fresh_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(tmp_path_factory.mktemp("auth-data"), token=None, env=QUIET)
    yield running
    running.stop()


def _metrics(server: RunningServer, token: str | None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.get(server.url + "/metrics", headers=headers, timeout=10).status_code


def test_first_start_generates_and_saves_an_admin_token(fresh_server: RunningServer) -> None:
    saved = fresh_server.data_dir / "admin-token"
    token = saved.read_text().strip()
    assert token.startswith("ih_")
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert token in fresh_server.log()  # printed once, at first start
    assert token.encode() not in (fresh_server.data_dir / "inferhouse.db").read_bytes()  # stored hashed
    assert _metrics(fresh_server, token) == 200
    assert _metrics(fresh_server, None) == 401
    assert _metrics(fresh_server, "ih_forged") == 401


def test_token_create_makes_a_working_token(fresh_server: RunningServer) -> None:
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "inferhouse",
            "token",
            "create",
            "--name",
            "ci",
            "--data-dir",
            str(fresh_server.data_dir),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    token = made.stdout.strip()
    assert token.startswith("ih_")
    assert _metrics(fresh_server, token) == 200


def test_restart_keeps_tokens_and_does_not_print_them_again(tmp_path: Path) -> None:
    first = start_server(tmp_path, token=None, env=QUIET)
    token = (tmp_path / "admin-token").read_text().strip()
    first.stop()
    second = start_server(tmp_path, token=None, env=QUIET)
    try:
        assert _metrics(second, token) == 200
        assert second.log().count(token) == 0  # the log file was rewritten by this second start
    finally:
        second.stop()


def test_health_needs_no_token(fresh_server: RunningServer) -> None:
    assert requests.get(fresh_server.url + "/health", timeout=10).status_code == 200


def test_auth_off_on_loopback(tmp_path: Path) -> None:
    running = start_server(tmp_path, token=None, env={**QUIET, "INFERHOUSE_AUTH": "false"})
    try:
        assert _metrics(running, None) == 200
        assert "authentication is OFF" in running.log()
    finally:
        running.stop()


def test_auth_off_refused_off_loopback(tmp_path: Path) -> None:
    env = {**os.environ, "INFERHOUSE_AUTH": "false", "INFERHOUSE_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "inferhouse", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert "only when listening on loopback" in result.stderr
