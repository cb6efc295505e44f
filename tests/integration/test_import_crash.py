"""``kill -9`` of the server in the middle of a large bulk import, on both vector backends: after a restart
the index answers correctly (every record present with its values, or absent), the import reads Failed
with how far it got, and starting it again completes it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pinecone import Pinecone

from tests.contract.conftest import VECTOR_BACKENDS
from tests.support.parquet_layout import write_namespace
from tests.support.server import RunningServer, start_server

DIMENSION = 32
FILES, ROWS_PER_FILE = 6, 60_000


@pytest.fixture(params=sorted(VECTOR_BACKENDS))
def backend_env(request: pytest.FixtureRequest) -> dict[str, str]:
    # No ANN graph: pgvector's takes inserts at a few hundred rows/s once built, and it is not under test.
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false", "INFERHOUSE_ANN_MIN_VECTORS": "100000000"}
    return env | VECTOR_BACKENDS[request.param](request)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    root = tmp_path_factory.mktemp("import-source")
    vectors = np.random.default_rng(3).normal(size=(FILES * ROWS_PER_FILE, DIMENSION)).astype(np.float32)
    for part in range(FILES):
        rows = range(part * ROWS_PER_FILE, (part + 1) * ROWS_PER_FILE)
        write_namespace(
            root,
            "",
            [f"v{i:07d}" for i in rows],
            vectors[rows.start : rows.stop],
            file_name=f"{part}.parquet",
        )
    return root, vectors


@pytest.fixture
def servers(tmp_path: Path, backend_env: dict[str, str]) -> Iterator[list[RunningServer]]:
    started: list[RunningServer] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.stop()


def _wait_for(check: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen in {timeout}s")


def test_kill_9_during_an_import_then_a_second_import_completes_it(
    tmp_path: Path,
    backend_env: dict[str, str],
    servers: list[RunningServer],
    source: tuple[Path, np.ndarray],
) -> None:
    root, vectors = source
    total = len(vectors)
    servers.append(start_server(tmp_path / "data", env=backend_env))
    with Pinecone(api_key=servers[0].token, host=servers[0].url) as pc:
        pc.create_index("crash", dimension=DIMENSION, metric="euclidean")
        with pc.Index("crash") as index:
            started = index.start_import(uri=str(root))
            _wait_for(lambda: index.describe_import(started.id).records_imported, 120, "a first batch")
    servers[0].kill()

    servers.append(start_server(tmp_path / "data", env=backend_env))
    with Pinecone(api_key=servers[1].token, host=servers[1].url) as pc, pc.Index("crash") as index:
        # PostgreSQL may be shared by other servers: an import is declared dead once its heartbeat stops.
        failed = _wait_for(
            lambda: (found := index.describe_import(started.id)).status == "Failed" and found, 60, "Failed"
        )
        assert "Interrupted" in failed.error
        assert 0 < failed.records_imported < total
        assert failed.percent_complete < 100
        count = index.describe_index_stats().total_vector_count
        assert count >= failed.records_imported
        _assert_present_records_are_exact(index, vectors, count)

        again = index.start_import(uri=str(root))
        done = _wait_for(
            lambda: (found := index.describe_import(again.id)).status != "InProgress" and found,
            300,
            "the end",
        )
        assert (done.status, done.records_imported) == ("Completed", total)
        assert index.describe_index_stats().total_vector_count == total
        _assert_present_records_are_exact(index, vectors, total)
        statuses = {item.id: item.status for item in index.list_imports()}
        assert statuses == {started.id: "Failed", again.id: "Completed"}


def _assert_present_records_are_exact(index: Any, vectors: np.ndarray, count: int) -> None:
    """A sample across every file: each record is absent, or present with exactly its values; and the
    number present in the index matches what fetching finds in the sample's proportion."""
    sample = np.random.default_rng(count).choice(len(vectors), size=800, replace=False)
    present = 0
    for chunk in range(0, len(sample), 100):
        ids = [f"v{i:07d}" for i in sample[chunk : chunk + 100]]
        found = index.fetch(ids=ids).vectors
        for vector_id, record in found.items():
            assert np.array_equal(np.asarray(record.values, dtype=np.float32), vectors[int(vector_id[1:])])
        present += len(found)
    if count == len(vectors):
        assert present == len(sample)
    query = vectors[int(sample[0])]
    best = index.query(vector=query.tolist(), top_k=1).matches
    if count == len(vectors):
        assert best[0].id == f"v{int(sample[0]):07d}"
