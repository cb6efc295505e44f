"""``kill -9`` of the server in the middle of a backup, and of a restore, on both vector backends.

After each kill the server starts again and: a backup is either listed, ``Ready`` with every record, or
not listed at all; a restored index either answers with every record of its backup or does not exist
(and its name can be used again); the restore job says ``Completed`` or ``Failed``; the source index
answers as before; nothing half-written is left in the data directory (embedded) or the database
(pgvector). The kills land at several moments of the work; on the embedded backend, where half-written
files can be seen, at least one must land mid-way.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import requests

from inferhouse.settings import Settings
from inferhouse.stores import index_storage, open_stores
from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.registry import IndexRegistry
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric
from tests.support.postgres import PostgresServer
from tests.support.server import RunningServer, start_server

COUNT, DIMENSION = 50_000, 384  # about 80 MB: a backup takes about half a second, a restore a second
SOURCE, RESTORED = "big", "big-restored"
KILL_AFTER = (0.05, 0.2, 0.45)  # seconds after the request is sent
QUIET = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ANN_MIN_VECTORS": str(10**9)}


@dataclass
class Deployment:
    data_dir: Path
    env: dict[str, str]
    values: npt.NDArray[np.float32]
    backend: str


@pytest.fixture(params=["embedded", "pgvector"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path) -> Deployment:
    """A data directory (and database) holding index ``big``, written in this process beforehand."""
    env = dict(QUIET)
    if request.param == "pgvector":
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        env |= {
            "INFERHOUSE_VECTOR_STORE": "pgvector",
            "INFERHOUSE_DATABASE_URL": postgres.database_for(str(tmp_path)),
        }
    settings = Settings(
        data_dir=tmp_path,
        database_url=env.get("INFERHOUSE_DATABASE_URL"),
        vector_store=env.get("INFERHOUSE_VECTOR_STORE", "embedded"),
    )
    values = np.random.default_rng(5).standard_normal((COUNT, DIMENSION), dtype=np.float32)
    stores = open_stores(settings)
    registry = IndexRegistry(stores.indexes, index_storage(settings, stores, AnnSettings(min_vectors=10**9)))
    try:
        index = registry.create(IndexConfig(SOURCE, DIMENSION, Metric.EUCLIDEAN))
        for start in range(0, COUNT, 5_000):
            rows = values[start : start + 5_000]
            index.upsert("", RowBatch.dense([f"v{start + i}" for i in range(len(rows))], rows))
    finally:
        registry.close()
        stores.close()
    return Deployment(tmp_path, env, values, request.param)


def _api(server: RunningServer, method: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.request(
        method, server.url + path, headers={"Api-Key": server.token or ""}, timeout=120, **kwargs
    )


def _send_and_kill(
    server: RunningServer, path: str, body: dict[str, Any], delay: float, deployment: Deployment
) -> None:
    """POST ``body`` and kill the server ``delay`` seconds later, whatever the request got to. On the
    embedded backend the clock starts once the work's first file appears (a tenth of ``delay`` after
    it), so a busy machine, slow to take the request, still gets killed in the middle of the copy."""

    def send() -> None:
        with contextlib.suppress(requests.RequestException):  # killed under it
            _api(server, "POST", path, json=body)

    sender = threading.Thread(target=send)
    sender.start()
    if deployment.backend == "embedded":
        deadline = time.monotonic() + 30
        while not _leftovers(deployment) and sender.is_alive() and time.monotonic() < deadline:
            time.sleep(0.002)
        delay /= 10
    time.sleep(delay)
    server.kill()
    sender.join(timeout=60)


def _leftovers(deployment: Deployment) -> list[str]:
    """Half-written backup or restore files (embedded: pgvector's die with their transaction)."""
    if deployment.backend != "embedded":
        return []
    found = list((deployment.data_dir / "backups").glob(".*partial*"))
    found += (deployment.data_dir / "indexes").glob(".restore-*")
    return [path.name for path in found]


def _assert_holds_every_record(server: RunningServer, name: str, values: npt.NDArray[np.float32]) -> None:
    stats = _api(server, "POST", f"/indexes/{name}/describe_index_stats", json={})
    assert stats.status_code == 200, stats.text
    assert stats.json()["totalVectorCount"] == COUNT
    sample = [f"v{position}" for position in range(0, COUNT, COUNT // 25)]
    fetched = _api(server, "GET", f"/indexes/{name}/vectors/fetch", params={"ids": sample}).json()["vectors"]
    for vector_id in sample:
        got = np.asarray(fetched[vector_id]["values"], dtype=np.float32)
        assert np.array_equal(got, values[int(vector_id[1:])]), vector_id


def _assert_backups_whole(server: RunningServer) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = _api(server, "GET", "/backups", params={"limit": 100}).json()["data"]
    for backup in listed:
        assert (backup["status"], backup["record_count"]) == ("Ready", COUNT), backup
    return listed


def test_a_kill_during_a_backup_leaves_a_whole_backup_or_none(deployment: Deployment) -> None:
    caught_mid_way = 0
    for delay in KILL_AFTER:
        server = start_server(deployment.data_dir, env=deployment.env)
        _send_and_kill(server, f"/indexes/{SOURCE}/backups", {"name": f"killed-{delay}"}, delay, deployment)
        caught_mid_way += bool(_leftovers(deployment))
        server = start_server(deployment.data_dir, env=deployment.env)
        try:
            assert _leftovers(deployment) == []
            _assert_backups_whole(server)
            _assert_holds_every_record(server, SOURCE, deployment.values)
        finally:
            server.stop()
    if deployment.backend == "embedded":
        assert caught_mid_way >= 1
    server = start_server(deployment.data_dir, env=deployment.env)
    try:  # whatever survived restores whole
        for backup in _assert_backups_whole(server):
            _restore_and_check(server, backup["backup_id"], deployment.values)
    finally:
        server.stop()


def _restore_and_check(server: RunningServer, backup_id: str, values: npt.NDArray[np.float32]) -> None:
    started = _api(server, "POST", f"/backups/{backup_id}/create-index", json={"name": RESTORED})
    assert started.status_code == 202, started.text
    job_id = started.json()["restore_job_id"]
    deadline = time.monotonic() + 120
    while (job := _api(server, "GET", f"/restore-jobs/{job_id}").json())["status"] not in (
        "Completed",
        "Failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["status"] == "Completed", job
    _assert_holds_every_record(server, RESTORED, values)
    assert _api(server, "DELETE", f"/indexes/{RESTORED}").status_code == 202


def _jobs(server: RunningServer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = _api(server, "GET", "/restore-jobs", params={"limit": 100}).json()["data"]
    return found


def test_a_kill_during_a_restore_leaves_a_whole_index_or_none(deployment: Deployment) -> None:
    server = start_server(deployment.data_dir, env=deployment.env)
    try:
        made = _api(server, "POST", f"/indexes/{SOURCE}/backups", json={})
        backup_id = made.json()["backup_id"]
        while _api(server, "GET", f"/backups/{backup_id}").json()["status"] != "Ready":
            time.sleep(0.2)
    finally:
        server.stop()
    caught_mid_way = 0
    seen_jobs: set[str] = set()
    for delay in KILL_AFTER:
        server = start_server(deployment.data_dir, env=deployment.env)
        _send_and_kill(server, f"/backups/{backup_id}/create-index", {"name": RESTORED}, delay, deployment)
        caught_mid_way += bool(_leftovers(deployment))
        server = start_server(deployment.data_dir, env=deployment.env)
        try:
            assert _leftovers(deployment) == []
            jobs = _jobs(server)
            assert {job["status"] for job in jobs} <= {"Completed", "Failed"}, jobs
            killed = [job for job in jobs if job["restore_job_id"] not in seen_jobs]
            seen_jobs.update(job["restore_job_id"] for job in jobs)
            described = _api(server, "GET", f"/indexes/{RESTORED}")
            if described.status_code == 200:
                assert [job["status"] for job in killed] == ["Completed"]
                _assert_holds_every_record(server, RESTORED, deployment.values)
                assert _api(server, "DELETE", f"/indexes/{RESTORED}").status_code == 202
            else:
                assert described.status_code == 404, described.text
                assert [job["status"] for job in killed] in ([], ["Failed"])  # [] killed before accepted
                _restore_and_check(server, backup_id, deployment.values)  # the name is free again
                seen_jobs.update(job["restore_job_id"] for job in _jobs(server))
            _assert_holds_every_record(server, SOURCE, deployment.values)
        finally:
            server.stop()
    if deployment.backend == "embedded":
        assert caught_mid_way >= 1
