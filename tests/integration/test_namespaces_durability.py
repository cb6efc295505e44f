"""What the namespaces API writes is durable when acknowledged, on both vector backends: a namespace
created empty and an update by filter are there after ``kill -9`` and after a clean restart."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pinecone import Pinecone

from tests.support.postgres import PostgresServer
from tests.support.server import RunningServer, start_server

SCHEMA = {"fields": {"genre": {"filterable": True}}}


@pytest.fixture(params=["embedded", "pgvector"])
def backend_env(request: pytest.FixtureRequest) -> dict[str, str]:
    env = {"INFERHOUSE_DEFAULT_ENDPOINT": "false"}
    if request.param == "pgvector":
        postgres: PostgresServer = request.getfixturevalue("postgres_server")
        env["INFERHOUSE_VECTOR_STORE"] = "pgvector"
        env["INFERHOUSE_DATABASE_URL"] = postgres.database_for(f"namespaces-{request.node.name}")
    return env


def _assert_kept(server: RunningServer, updated: list[str]) -> None:
    with Pinecone(api_key=server.token, host=server.url) as pc, pc.Index("kept") as index:
        listed = {ns.name: ns for page in index.list_namespaces() for ns in page.namespaces}
        assert sorted(listed) == ["empty", "films", "plain"]
        assert (listed["empty"].record_count, listed["empty"].schema.to_dict()) == (0, SCHEMA)
        assert (listed["plain"].record_count, listed["plain"].schema) == (0, None)
        assert index.describe_index_stats().namespaces["empty"].vector_count == 0
        found = index.fetch_by_metadata(filter={"reviewed": True}, namespace="films", limit=1000).vectors
        assert sorted(found) == updated
        assert all(vector.metadata["genre"] == "drama" for vector in found.values())
        assert index.describe_namespace(name="films").record_count == 300


def test_created_namespaces_and_updates_by_filter_survive_kill_9(
    tmp_path: Path, backend_env: dict[str, str]
) -> None:
    server = start_server(tmp_path, env=backend_env)
    try:
        with Pinecone(api_key=server.token, host=server.url) as pc:
            pc.create_index("kept", dimension=8, metric="cosine")
            with pc.Index("kept") as index:
                index.create_namespace(name="empty", schema=SCHEMA)
                index.create_namespace(name="plain")
                vectors = np.random.default_rng(3).normal(size=(300, 8)).tolist()
                genres = ("drama", "noir", "comedy")
                records = [
                    (f"r{i}", vectors[i], {"genre": genres[i % 3], "n": i}) for i in range(len(vectors))
                ]
                for start in range(0, len(records), 100):
                    index.upsert(vectors=records[start : start + 100], namespace="films")
                reply = index.update(
                    filter={"genre": "drama"}, set_metadata={"reviewed": True}, namespace="films"
                )
        updated = sorted(f"r{i}" for i in range(0, 300, 3))
        assert reply.matched_records == len(updated)
    finally:
        server.kill()  # right after the acknowledgement: no shutdown hook folds anything in
    server = start_server(tmp_path, env=backend_env)
    try:
        _assert_kept(server, updated)
    finally:
        server.stop()
    server = start_server(tmp_path, env=backend_env)  # and after a clean stop, from SQLite alone
    try:
        _assert_kept(server, updated)
    finally:
        server.stop()
