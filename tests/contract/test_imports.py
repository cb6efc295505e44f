"""Bulk import and export through the real ``pinecone`` 10.x client and the ``inferhouse`` CLI, on every
vector backend: start, describe, list and cancel imports; bad rows skipped or stopping the import; bad
paths, files and URIs refused in Pinecone's shape with nothing changed; export then import restoring an
index exactly (ids, values, sparse values, metadata, namespaces)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pinecone import ApiError, Index, Pinecone

from tests.support.parquet_layout import write_namespace
from tests.support.server import RunningServer, index_name_for

TERMINAL = ("Completed", "Failed", "Cancelled")


@pytest.fixture
def pc(vector_server: RunningServer) -> Iterator[Pinecone]:
    with Pinecone(api_key=vector_server.token, host=vector_server.url) as client:
        yield client


@pytest.fixture
def make_index(pc: Pinecone, request: pytest.FixtureRequest) -> Iterator[Callable[..., Index]]:
    made: list[tuple[str, Index]] = []

    def make(dimension: int, metric: str = "cosine") -> Index:
        name = index_name_for(f"{request.node.name}-{len(made)}", "im")
        pc.create_index(name, dimension=dimension, metric=metric)
        made.append((name, pc.Index(name)))
        return made[-1][1]

    yield make
    for name, index in made:
        index.close()
        pc.delete_index(name)


def _wait(index: Index, import_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = index.describe_import(import_id)
        if found.status in TERMINAL:
            return found
        time.sleep(0.1)
    raise AssertionError(f"import {import_id} did not end in {timeout}s: {found}")


def _vectors(seed: int, count: int, dimension: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, dimension)).astype(np.float32)


def test_an_import_loads_every_namespace_and_reports_progress(
    make_index: Callable[..., Index], tmp_path: Path
) -> None:
    index = make_index(8, "dotproduct")
    vectors = _vectors(1, 300, 8)
    ids = [f"doc-{i}" for i in range(300)]
    metadata = [
        {"genre": ["drama", "noir"][i % 2], "year": 1990 + i % 30} if i % 3 else None for i in range(300)
    ]
    sparse = [{"indices": [i, i + 7], "values": [0.5, 0.25]} if i % 4 == 0 else None for i in range(300)]
    write_namespace(tmp_path, "", ids[:200], vectors[:200], metadata=metadata[:200], sparse=sparse[:200])
    write_namespace(
        tmp_path, "films", ids[200:], vectors[200:], metadata=metadata[200:], file_name="a.parquet"
    )
    (tmp_path / "films" / "notes.log").write_text("ignored")

    started = index.start_import(uri=f"file://{tmp_path}", error_mode="continue")
    done = _wait(index, started.id)

    assert (done.status, done.records_imported, done.percent_complete, done.error) == (
        "Completed",
        300,
        100.0,
        None,
    )
    assert done.uri == f"file://{tmp_path}"
    assert done.created_at.endswith("Z")
    assert done.finished_at is not None
    stats = index.describe_index_stats()
    assert {name: ns.vector_count for name, ns in stats.namespaces.items()} == {"": 200, "films": 100}
    fetched = index.fetch(ids=["doc-0", "doc-1", "doc-4"]).vectors
    assert np.array_equal(np.asarray(fetched["doc-0"].values, dtype=np.float32), vectors[0])
    assert fetched["doc-1"].metadata == {"genre": "noir", "year": 1991}
    assert fetched["doc-0"].metadata is None or fetched["doc-0"].metadata == {}
    assert fetched["doc-4"].sparse_values.indices == [4, 11]
    assert index.fetch(ids=["doc-250"], namespace="films").vectors["doc-250"].metadata == metadata[250]
    listed = list(index.list_imports())
    assert [item.id for item in listed] == [started.id]
    assert listed[0].status == "Completed"


def test_imports_list_page_by_page_and_a_cancel_stops_one(
    make_index: Callable[..., Index], tmp_path: Path
) -> None:
    index = make_index(4)
    small = tmp_path / "small"
    write_namespace(small, "", ["a", "b"], [[1.0, 0, 0, 0], [0, 1.0, 0, 0]])
    first = index.start_import(uri=str(small))
    _wait(index, first.id)
    large = tmp_path / "large"
    count = 400_000
    for part in range(4):  # many batches, so the cancel lands while it runs
        ids = [f"v{part}-{i}" for i in range(count // 4)]
        write_namespace(large, "bulk", ids, _vectors(part, count // 4, 4), file_name=f"{part}.parquet")
    second = index.start_import(uri=str(large))
    index.cancel_import(second.id)
    cancelled = _wait(index, second.id)
    assert cancelled.status == "Cancelled"
    assert cancelled.records_imported < count
    time.sleep(1.0)  # a batch in flight when the cancel landed finishes; the record stays Cancelled
    assert index.describe_import(second.id).status == "Cancelled"
    page = index.list_imports_paginated(limit=1)
    assert [item.id for item in page] == [first.id]
    assert page.pagination is not None
    rest = index.list_imports_paginated(limit=1, pagination_token=page.pagination.next)
    assert [item.id for item in rest] == [second.id]
    assert rest.pagination is None
    with pytest.raises(ApiError) as unknown:
        index.describe_import("999999")
    assert unknown.value.status_code == 404


def test_bad_rows_are_skipped_and_reported_or_stop_the_import(
    make_index: Callable[..., Index], tmp_path: Path
) -> None:
    index = make_index(3)
    ids = ["ok-1", "", "ok-2", "short", "nan", "bad-meta", "ok-3"]
    values: list[Any] = [[1, 2, 3], [1, 2, 3], [3, 2, 1], [1, 2], [float("nan"), 0, 0], [1, 1, 1], [0, 0, 1]]
    metadata: list[Any] = [None, None, {"k": "v"}, None, None, "{not json", None]
    write_namespace(tmp_path / "src", "", ids, values, metadata=metadata)

    skipping = _wait(index, index.start_import(uri=str(tmp_path / "src"), error_mode="continue").id)
    assert (skipping.status, skipping.records_imported) == ("Completed", 3)
    assert skipping.error.startswith("Skipped 4 of 7 records")
    for reason in ("record 1 of", "dimension 2", "record 4 of", "not valid JSON"):
        assert reason in skipping.error
    assert sorted(index.fetch(ids=["ok-1", "ok-2", "ok-3", "short"]).vectors) == ["ok-1", "ok-2", "ok-3"]

    index.delete(delete_all=True)
    aborting = _wait(index, index.start_import(uri=str(tmp_path / "src")).id)  # abort is the default
    assert aborting.status == "Failed"
    assert aborting.records_imported == 1  # what came before the first bad record
    assert aborting.error.startswith("Record 1 of __default__/0.parquet")
    assert sorted(index.fetch(ids=["ok-1", "ok-2", "ok-3"]).vectors) == ["ok-1"]


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("s3://bucket/prefix/", "only from local directories"),
        ("gs://bucket/prefix/", "only from local directories"),
        ("{tmp}/missing", "does not exist"),
        ("relative/dir", "must be absolute"),
        ("{tmp}/broken", "is not a readable Parquet file"),
        ("{tmp}/no-values", "missing the required column 'values'"),
        ("{tmp}/empty", "No Parquet files"),
        ("{tmp}/loose", "belong in a namespace folder"),
    ],
)
def test_a_bad_source_is_refused_in_pinecones_shape_and_changes_nothing(
    make_index: Callable[..., Index], tmp_path: Path, uri: str, message: str
) -> None:
    index = make_index(2)
    index.upsert(vectors=[("kept", [1.0, 2.0])])
    (tmp_path / "broken" / "__default__").mkdir(parents=True)
    (tmp_path / "broken" / "__default__" / "0.parquet").write_bytes(b"PAR1 this is not parquet")
    write_namespace(tmp_path / "good-first", "", ["x"], [[1.0, 1.0]])
    no_values = tmp_path / "no-values"
    write_namespace(no_values, "", ["x"], [[1.0, 1.0]])
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"id": ["y"]}), no_values / "__default__" / "1.parquet")
    (tmp_path / "empty" / "ns").mkdir(parents=True)
    (tmp_path / "loose").mkdir()
    pq.write_table(pa.table({"id": ["z"]}), tmp_path / "loose" / "0.parquet")

    with pytest.raises(ApiError) as refused:
        index.start_import(uri=uri.format(tmp=tmp_path))
    assert refused.value.status_code == 400
    assert set(refused.value.body) == {"code", "message", "details"}  # the data plane's error shape
    assert message in refused.value.body["message"]
    assert list(index.list_imports()) == []
    assert index.describe_index_stats().total_vector_count == 1
    assert "x" not in index.fetch(ids=["x"]).vectors


def test_export_then_import_restores_an_index_exactly(
    vector_server: RunningServer,
    make_index: Callable[..., Index],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    source = make_index(16, "dotproduct")
    vectors = _vectors(7, 2500, 16)
    for namespace, start in (("", 0), ("alpha", 1000), ("beta gamma", 2000)):
        stop = start + (1000 if namespace != "beta gamma" else 500)
        batch = []
        for i in range(start, stop):
            record: dict[str, Any] = {"id": f"r{i:05d}", "values": vectors[i].tolist()}
            if i % 3:
                record["metadata"] = {"n": i, "tags": [f"t{i % 5}"], "flag": i % 2 == 0, "x": i / 7}
            if i % 5 == 0:
                record["sparse_values"] = {"indices": [i, 2 * i + 1], "values": [0.125, -2.5]}
            batch.append(record)
        for chunk in range(0, len(batch), 500):
            source.upsert(vectors=batch[chunk : chunk + 500], namespace=namespace)
    name = index_name_for(f"{request.node.name}-0", "im")  # make_index's names

    exported = tmp_path / "export"
    env = {key: value for key, value in os.environ.items() if not key.startswith("INFERHOUSE_")}
    env.update({"INFERHOUSE_URL": vector_server.url, "INFERHOUSE_TOKEN": vector_server.token or ""})
    run = subprocess.run(
        [sys.executable, "-m", "inferhouse", "index", "export", name, str(exported)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "exported 2500 records" in run.stdout
    assert sorted(p.relative_to(exported).as_posix() for p in exported.rglob("*.parquet")) == [
        "__default__/part-00000.parquet",
        "alpha/part-00000.parquet",
        "beta gamma/part-00000.parquet",
    ]

    target = make_index(16, "dotproduct")
    target_name = index_name_for(f"{request.node.name}-1", "im")
    run = subprocess.run(
        [sys.executable, "-m", "inferhouse", "index", "import", target_name, str(exported)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Completed: 2500 records imported" in run.stdout
    for namespace in ("", "alpha", "beta gamma"):
        ids = [item.id for page in source.list(namespace=namespace) for item in page]
        assert len(ids) == (500 if namespace == "beta gamma" else 1000)
        assert ids == [item.id for page in target.list(namespace=namespace) for item in page]
        for chunk in range(0, len(ids), 100):
            want = source.fetch(ids=ids[chunk : chunk + 100], namespace=namespace).vectors
            got = target.fetch(ids=ids[chunk : chunk + 100], namespace=namespace).vectors
            assert got.keys() == want.keys()
            for key, record in want.items():
                assert got[key].values == record.values
                assert got[key].metadata == record.metadata
                assert got[key].sparse_values == record.sparse_values


def test_only_an_admin_token_starts_an_import_or_exports(
    vector_server: RunningServer, tmp_path: Path
) -> None:
    import requests

    created = requests.post(
        vector_server.url + "/api/tokens",
        json={"name": "importer", "role": "user"},
        headers=vector_server.headers,
        timeout=10,
    )
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    headers = {"Api-Key": token}
    refused = requests.post(
        vector_server.url + "/indexes/none/bulk/imports",
        json={"uri": str(tmp_path)},
        headers=headers,
        timeout=10,
    )
    assert refused.status_code == 403
    exported = requests.get(vector_server.url + "/api/indexes/none/export", headers=headers, timeout=10)
    assert exported.status_code == 403
