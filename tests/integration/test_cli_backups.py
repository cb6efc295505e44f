"""``inferhouse index backup|backups|restore|restore-jobs|delete-backup`` as commands against a real
server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferhouse.client import Client
from tests.support.server import RunningServer, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_server(
        tmp_path_factory.mktemp("cli-backups"), env={"INFERHOUSE_DEFAULT_ENDPOINT": "false"}
    )
    yield running
    running.stop()


@pytest.fixture
def env(server: RunningServer, tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    env |= {
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
        "INFERHOUSE_URL": server.url,
        "INFERHOUSE_TOKEN": server.token or "",
        "INFERHOUSE_DATA_DIR": str(tmp_path / "no-data-dir"),
    }
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inferhouse", "index", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _json(env: dict[str, str], *args: str) -> Any:
    result = _run(env, *args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_back_up_list_restore_and_delete(server: RunningServer, env: dict[str, str]) -> None:
    with Client(server.url, token=server.token) as client:
        client.create_index("cli-source", 3, "euclidean")
        records = [{"id": f"v{i}", "values": [float(i), 1.0, 2.0], "metadata": {"n": i}} for i in range(30)]
        client.upsert("cli-source", records, namespace="a")
        client.upsert("cli-source", [{"id": "w", "values": [0.0, 0.0, 1.0]}], namespace="b")

    backup = _json(env, "backup", "cli-source", "--name", "nightly", "--description", "before the change")
    assert (backup["status"], backup["name"], backup["record_count"], backup["namespace_count"]) == (
        "Ready",
        "nightly",
        31,
        2,
    )
    listed = _json(env, "backups", "--index", "cli-source")
    assert [item["backup_id"] for item in listed] == [backup["backup_id"]]
    table = _run(env, "backups").stdout
    assert backup["backup_id"] in table
    assert "nightly" in table

    restored = _run(env, "restore", backup["backup_id"], "cli-restored", "--json")
    assert restored.returncode == 0, restored.stderr
    job = json.loads(restored.stdout)
    assert (job["status"], job["percent_complete"], job["target_index_name"]) == (
        "Completed",
        100.0,
        "cli-restored",
    )
    jobs = _json(env, "restore-jobs")
    assert job["restore_job_id"] in [item["restore_job_id"] for item in jobs]
    with Client(server.url, token=server.token) as client:
        stats = client.index_stats("cli-restored")
        assert (stats.total_vector_count, stats.namespaces) == (31, {"a": 30, "b": 1})
        assert client.fetch("cli-restored", ["v7"], namespace="a")["v7"].metadata == {"n": 7}

    deleted = _run(env, "delete-backup", backup["backup_id"])
    assert deleted.returncode == 0, deleted.stderr
    assert _json(env, "backups", "--index", "cli-source") == []


def test_refusals_end_the_command_with_the_servers_message(
    server: RunningServer, env: dict[str, str]
) -> None:
    with Client(server.url, token=server.token) as client:
        client.create_index("cli-taken", 3, "cosine")
    unknown = _run(env, "backup", "no-such-index")
    assert unknown.returncode == 1
    assert "error:" in unknown.stderr
    assert "no-such-index" in unknown.stderr
    backup = _json(env, "backup", "cli-taken")
    taken = _run(env, "restore", backup["backup_id"], "cli-taken")
    assert taken.returncode == 1
    assert "already exists" in taken.stderr
    missing = _run(env, "delete-backup", "no-such-backup")
    assert missing.returncode == 1
    assert "not found" in missing.stderr
