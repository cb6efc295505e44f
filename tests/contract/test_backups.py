"""Backups and restore jobs through the real ``pinecone`` 10.x client, on every vector backend.

A backup restores into a new index equal to its source at backup time (ids, dense and sparse values,
metadata, namespaces); one taken while another thread keeps writing holds, for every record, values some
write gave it, and as many records as it says; bad requests are refused in Pinecone's shape and change
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest
from pinecone import (
    ApiError,
    ConflictError,
    Index,
    NotFoundError,
    Pinecone,
)

from tests.support.server import RunningServer, index_name_for

DIMENSION = 8
NAMESPACES = ("", "films", "books")


@pytest.fixture
def pc(vector_server: RunningServer) -> Iterator[Pinecone]:
    with Pinecone(api_key=vector_server.token, host=vector_server.url) as client:
        yield client


@pytest.fixture
def open_index(pc: Pinecone) -> Iterator[Callable[[str], Index]]:
    """``open_index(name)``: the client's data-plane handle on an index, closed afterwards."""
    opened: list[Index] = []

    def open_one(name: str) -> Index:
        opened.append(pc.Index(name))
        return opened[-1]

    yield open_one
    for index in opened:
        index.close()


@pytest.fixture
def names(pc: Pinecone, request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """``names(role)``: an index name for this test; every index of those names is deleted afterwards."""
    made: list[str] = []

    def name(role: str) -> str:
        made.append(index_name_for(f"{request.node.name}-{role}", "bk"))
        return made[-1]

    yield name
    existing = set(pc.list_indexes().names())
    for made_name in made:
        if made_name in existing:
            pc.configure_index(made_name, deletion_protection="disabled")
            pc.delete_index(made_name)
    for backup in pc.list_backups():
        if backup.source_index_name in made:
            pc.delete_backup(backup_id=backup.backup_id)


def _record(namespace: str, position: int) -> dict[str, Any]:
    values = np.random.default_rng(position + 1000 * len(namespace)).normal(size=DIMENSION)
    record: dict[str, Any] = {
        "id": f"{namespace or 'default'}-{position}",
        "values": values.astype(np.float32).tolist(),
        "metadata": {"position": position, "shelf": namespace or "none", "tags": [f"t{position % 3}"]},
    }
    if position % 2:
        record["sparse_values"] = {"indices": [position, position + 7], "values": [0.5, 0.25 * position]}
    return record


def _fill(index: Index, count: int) -> None:
    for namespace in NAMESPACES:
        index.upsert(vectors=[_record(namespace, position) for position in range(count)], namespace=namespace)


def _contents(index: Index) -> dict[str, dict[str, Any]]:
    """Every record of every namespace, by namespace and id, as plain values."""
    found: dict[str, dict[str, Any]] = {}
    for namespace in index.describe_index_stats().namespaces:
        ids = [item.id for page in index.list(namespace=namespace) for item in page]
        fetched = index.fetch(ids=ids, namespace=namespace).vectors if ids else {}
        found[namespace] = {
            vector_id: {
                "values": list(vector.values),
                "metadata": vector.metadata,
                "sparse": None
                if vector.sparse_values is None
                else (list(vector.sparse_values.indices), list(vector.sparse_values.values)),
            }
            for vector_id, vector in fetched.items()
        }
    return found


def test_a_restored_index_equals_its_source_at_backup_time(
    pc: Pinecone, names: Callable[[str], str], open_index: Callable[[str], Index]
) -> None:
    source_name, restored_name = names("source"), names("restored")
    pc.create_index(source_name, dimension=DIMENSION, metric="dotproduct", tags={"team": "search"})
    source = open_index(source_name)
    _fill(source, 40)
    before = _contents(source)

    backup = pc.create_backup(index_name=source_name, backup_name="nightly", description="before a change")
    assert (backup.status, backup.name, backup.description) == ("Ready", "nightly", "before a change")
    assert (backup.source_index_name, backup.record_count, backup.namespace_count) == (source_name, 120, 3)
    assert backup.dense_dimension == DIMENSION
    assert (backup.size_bytes or 0) > 0
    assert backup.tags == {"team": "search"}
    assert pc.describe_backup(backup_id=backup.backup_id).to_dict() == backup.to_dict()
    assert backup.backup_id in [found.backup_id for found in pc.list_backups(index_name=source_name)]
    assert backup.backup_id in [found.backup_id for found in pc.list_backups()]

    # Later writes to the source change neither the backup nor what it restores.
    source.upsert(vectors=[_record("films", 99)], namespace="films")
    source.delete(ids=["books-1"], namespace="books")

    described = pc.create_index_from_backup(
        backup_id=backup.backup_id, name=restored_name, deletion_protection="enabled"
    )
    assert described.status.ready
    assert described.name == restored_name
    assert (described.dimension, described.metric) == (DIMENSION, "dotproduct")
    assert described.deletion_protection == "enabled"
    assert described.tags == {"team": "search"}  # the backup's, when none are given
    restored = open_index(restored_name)
    assert _contents(restored) == before
    query = _record("", 3)["values"]
    answers = [index.query(vector=query, top_k=5, include_metadata=True) for index in (source, restored)]
    assert [(match.id, match.score) for match in answers[0].matches] == [
        (match.id, match.score) for match in answers[1].matches
    ]

    jobs = [job for job in pc.list_restore_jobs() if job.target_index_name == restored_name]
    assert len(jobs) == 1
    job = pc.describe_restore_job(job_id=jobs[0].restore_job_id)
    assert (job.status, job.percent_complete, job.backup_id) == ("Completed", 100.0, backup.backup_id)
    assert job.completed_at is not None

    pc.delete_backup(backup_id=backup.backup_id)
    with pytest.raises(NotFoundError):
        pc.describe_backup(backup_id=backup.backup_id)
    assert _contents(restored) == before  # a restored index does not depend on its backup


def test_a_restore_returns_its_job_and_index_ids(
    pc: Pinecone, names: Callable[[str], str], open_index: Callable[[str], Index]
) -> None:
    source_name, restored_name = names("source"), names("restored")
    pc.create_index(source_name, dimension=DIMENSION, metric="dotproduct")
    _fill(open_index(source_name), 5)
    backup = pc.create_backup(index_name=source_name)
    assert backup.name is None

    started = pc.create_index_from_backup(
        backup_id=backup.backup_id, name=restored_name, tags={"copy": "yes"}, timeout=-1
    )
    job = pc.describe_restore_job(job_id=started.restore_job_id)
    assert (job.target_index_name, job.target_index_id) == (restored_name, started.index_id)
    assert job.status in ("Pending", "InProgress", "Completed")
    assert pc.describe_index(restored_name).tags == {"copy": "yes"}
    assert open_index(restored_name).describe_index_stats().total_vector_count == 15


def test_a_backup_taken_during_writes_is_one_consistent_moment(
    pc: Pinecone, names: Callable[[str], str], open_index: Callable[[str], Index]
) -> None:
    source_name, restored_name = names("source"), names("restored")
    pc.create_index(source_name, dimension=DIMENSION, metric="euclidean")
    source = open_index(source_name)
    # Each write sets every vector of a batch to its round number: a record holds one round's values.
    acknowledged_ids: set[str] = set()
    stop = threading.Event()
    rounds = [0]

    def write() -> None:
        while not stop.is_set():
            rounds[0] += 1
            batch = [
                {"id": f"v{(rounds[0] * 7 + offset) % 300}", "values": [float(rounds[0])] * DIMENSION}
                for offset in range(50)
            ]
            source.upsert(vectors=batch, namespace="live")
            acknowledged_ids.update(item["id"] for item in batch)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        while rounds[0] < 20:
            stop.wait(0.05)
        ids_before = set(acknowledged_ids)
        backup = pc.create_backup(index_name=source_name)
    finally:
        stop.set()
        writer.join(timeout=60)
    assert rounds[0] > 20  # writes went on around the backup
    pc.create_index_from_backup(backup_id=backup.backup_id, name=restored_name)
    restored = open_index(restored_name)
    contents = _contents(restored)["live"]
    assert len(contents) == backup.record_count
    assert ids_before <= set(contents)  # every write acknowledged before the backup began is in it
    for vector_id, record in contents.items():
        written = record["values"][0]
        assert written == int(written), vector_id
        assert 1 <= written <= rounds[0], vector_id
        assert record["values"] == [written] * DIMENSION  # one write's values, never a mix


def test_backup_listings_are_paginated(
    pc: Pinecone, names: Callable[[str], str], open_index: Callable[[str], Index]
) -> None:
    source_name = names("source")
    pc.create_index(source_name, dimension=DIMENSION, metric="cosine")
    made = [pc.create_backup(index_name=source_name, backup_name=f"b{i}").backup_id for i in range(3)]
    first = pc.list_backups(index_name=source_name, limit=2)
    assert [backup.backup_id for backup in first] == made[:2]
    assert first.pagination is not None
    second = pc.list_backups(index_name=source_name, pagination_token=first.pagination.next)
    assert [backup.backup_id for backup in second] == made[2:]
    assert second.pagination is None


def test_bad_requests_are_refused_and_change_nothing(
    pc: Pinecone, names: Callable[[str], str], open_index: Callable[[str], Index]
) -> None:
    source_name, taken_name = names("source"), names("taken")
    pc.create_index(source_name, dimension=DIMENSION, metric="cosine")
    pc.create_index(taken_name, dimension=DIMENSION, metric="dotproduct")
    _fill(open_index(taken_name), 2)
    backup = pc.create_backup(index_name=source_name)
    indexes_before = sorted(pc.list_indexes().names())
    backups_before = sorted(found.backup_id for found in pc.list_backups())
    jobs_before = len(pc.list_restore_jobs(limit=100))

    with pytest.raises(NotFoundError):
        pc.create_backup(index_name="no-such-index")
    with pytest.raises(NotFoundError):
        pc.list_backups(index_name="no-such-index")
    with pytest.raises(NotFoundError):
        pc.describe_backup(backup_id="no-such-backup")
    with pytest.raises(NotFoundError):
        pc.delete_backup(backup_id="no-such-backup")
    with pytest.raises(NotFoundError):
        pc.create_index_from_backup(backup_id="no-such-backup", name=names("never"), timeout=-1)
    with pytest.raises(NotFoundError):
        pc.describe_restore_job(job_id="no-such-job")
    with pytest.raises(ConflictError):
        pc.create_index_from_backup(backup_id=backup.backup_id, name=taken_name, timeout=-1)
    for bad_name in ("Upper-Case", "under_score", "-leading", "x" * 46):
        with pytest.raises(ApiError) as refused:
            pc.create_index_from_backup(backup_id=backup.backup_id, name=bad_name, timeout=-1)
        assert refused.value.status_code == 400
    with pytest.raises(ApiError) as refused:
        pc.create_backup(index_name=source_name, backup_name="x" * 101)
    assert refused.value.status_code == 400
    with pytest.raises(ApiError) as refused:
        pc.list_backups(pagination_token="not-a-token")
    assert refused.value.status_code == 400
    with pytest.raises(ApiError) as refused:
        pc.list_backups(limit=1000)
    assert refused.value.status_code == 400

    assert sorted(pc.list_indexes().names()) == indexes_before
    assert sorted(found.backup_id for found in pc.list_backups()) == backups_before
    assert len(pc.list_restore_jobs(limit=100)) == jobs_before
    assert open_index(taken_name).describe_index_stats().total_vector_count == 6
