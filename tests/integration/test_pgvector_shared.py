"""Two ``inferhouse serve`` processes on one PostgreSQL with ``INFERHOUSE_VECTOR_STORE=pgvector``: an index
created and written through one is queried through the other at once, and deleted through the other it
is gone from the first."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from pinecone import Pinecone

from tests.support.postgres import PostgresServer
from tests.support.server import RunningServer, start_server
from tests.support.server_pair import eventually, two_servers


@pytest.fixture(scope="module")
def servers(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningServer, RunningServer]]:
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_DATABASE_URL": postgres_server.database_for("pgvector-shared"),
        "INFERHOUSE_VECTOR_STORE": "pgvector",
    }
    with two_servers(tmp_path_factory.mktemp("first"), tmp_path_factory.mktemp("second"), env) as pair:
        yield pair


def test_an_index_made_on_one_server_is_served_by_the_other(
    servers: tuple[RunningServer, RunningServer],
) -> None:
    first, second = servers
    with (
        Pinecone(api_key=first.token, host=first.url) as one,
        Pinecone(api_key=second.token, host=second.url) as other,
    ):
        one.create_index("shared", dimension=3, metric="cosine")
        writer = one.Index("shared")
        writer.upsert(vectors=[("a", [1.0, 0.0, 0.0], {"genre": "drama"}), ("b", [0.0, 1.0, 0.0])])
        assert eventually(lambda: other.has_index("shared"))
        reader = other.Index("shared")
        # Vectors written through the first are there through the second as soon as it knows the index.
        hits = reader.query(vector=[1.0, 0.1, 0.0], top_k=2, filter={"genre": "drama"}).matches
        assert [hit.id for hit in hits] == ["a"]
        reader.upsert(vectors=[("c", [0.0, 0.0, 1.0])])
        assert writer.describe_index_stats().total_vector_count == 3
        writer.close()
        reader.close()
        other.delete_index("shared")
        assert eventually(lambda: not one.has_index("shared"))


def test_index_stats_count_the_shared_table_and_its_size_on_disk(
    servers: tuple[RunningServer, RunningServer],
) -> None:
    first, second = servers
    created = requests.post(
        first.url + "/indexes", json={"name": "sized", "dimension": 3}, headers=first.headers, timeout=30
    )
    assert created.status_code == 201, created.text
    vectors = [{"id": f"v{n}", "values": [1.0, float(n), 0.0], "metadata": {"n": n}} for n in range(50)]
    body = {"vectors": vectors, "namespace": "ns"}
    upserted = requests.post(
        first.url + "/indexes/sized/vectors/upsert", json=body, headers=first.headers, timeout=30
    )
    assert upserted.status_code == 200, upserted.text
    assert eventually(
        lambda: requests.get(second.url + "/api/indexes/sized", headers=second.headers, timeout=30).ok
    )
    stats = requests.get(second.url + "/api/indexes/sized", headers=second.headers, timeout=30).json()
    assert stats["records"] == 50
    assert stats["namespaces"] == {"ns": 50}
    assert stats["diskBytes"] >= 8192  # at least one page of the table
    requests.delete(first.url + "/indexes/sized", headers=first.headers, timeout=30)


def test_a_killed_server_restarts_over_its_pgvector_indexes(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    env = {
        "INFERHOUSE_DEFAULT_ENDPOINT": "false",
        "INFERHOUSE_DATABASE_URL": postgres_server.database_for("pgvector-restart"),
        "INFERHOUSE_VECTOR_STORE": "pgvector",
    }
    data_dir = tmp_path_factory.mktemp("restart")
    server = start_server(data_dir, env=env)
    with Pinecone(api_key=server.token, host=server.url) as pc:
        pc.create_index("kept", dimension=2, metric="euclidean")
        index = pc.Index("kept")
        try:
            assert index.upsert(vectors=[("a", [1.0, 2.0], {"n": 1}), ("b", [3.0, 4.0])]).upserted_count == 2
        finally:
            index.close()
    server.kill()  # SIGKILL: every acknowledged write must be there after the restart
    server = start_server(data_dir, env=env)
    try:
        with Pinecone(api_key=server.token, host=server.url) as pc:
            index = pc.Index("kept")
            try:
                fetched = index.fetch(ids=["a", "b"]).vectors
                assert sorted(fetched) == ["a", "b"]
                assert fetched["a"].metadata == {"n": 1}
                assert index.describe_index_stats().total_vector_count == 2
            finally:
                index.close()
    finally:
        server.stop()
