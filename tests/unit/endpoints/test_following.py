"""Two endpoint managers in shared mode on one database (as two servers on one PostgreSQL are): what one
changes, the other follows (``EndpointManager.follow``, called here where a server's change listener
would call it), and a change made from a revision another changed since is refused with a conflict."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from inferhouse.endpoints.config import ModelConfig, State
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.postgres_store import PostgresEndpointStore
from inferhouse.endpoints.shared import EndpointFollower
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.errors import AlreadyExists, Conflict, EndpointPaused
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from inferhouse.storage import Database
from inferhouse.storage.postgres import PostgresDatabase
from tests.support.postgres import PostgresServer
from tests.unit.endpoints.test_manager import Clock, Loader, _call, _config


class Server:
    """One server's manager over the shared store, and its loader."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.store = SqliteEndpointStore(db)
        self.loader = Loader()
        self.manager = EndpointManager(
            settings, self.store, Metrics(), loader=self.loader, clock=Clock(), shared=True
        )

    async def follow(self) -> None:
        """What its change listener does after another server commits."""
        self.manager.follow(self.store.load_all())
        await self.manager.wait_until_settled()


@pytest.fixture
async def pair(tmp_path: Path) -> AsyncIterator[tuple[Server, Server]]:
    db = Database.in_data_dir(tmp_path)
    settings = Settings(data_dir=tmp_path, idle_check_seconds=3600)
    one, other = Server(db, settings), Server(db, settings)
    await one.manager.start()
    await other.manager.start()
    yield one, other
    await one.manager.close()
    await other.manager.close()


def _stored(server: Server, name: str) -> Any:
    (row,) = [row for row in server.store.load_all() if row.config.name == name]
    return row


async def test_an_endpoint_created_on_one_runs_on_the_other(pair: tuple[Server, Server]) -> None:
    one, other = pair
    await one.manager.create(_config("shared"))
    await one.manager.wait_until_settled()
    await other.follow()
    assert other.manager.get("shared").status.state is State.RUNNING
    assert (await _call(other.manager, "shared"))["inputs"] == "x"
    # What each server goes through on its own is not written to the shared row.
    assert _stored(one, "shared").status.state is State.PENDING


async def test_pause_resume_update_and_delete_are_followed(pair: tuple[Server, Server]) -> None:
    one, other = pair
    await one.manager.create(_config("life"))
    await one.manager.wait_until_settled()
    await other.follow()

    await one.manager.pause("life")
    await other.follow()
    assert other.manager.get("life").status.state is State.PAUSED
    assert other.manager.deployment("life") is None
    with pytest.raises(EndpointPaused):
        await _call(other.manager, "life")

    await other.manager.resume("life")  # through the other one this time
    await other.manager.wait_until_settled()
    await one.follow()
    assert one.manager.get("life").status.state is State.RUNNING

    before = other.manager.deployment("life")
    await one.manager.update("life", _config("life", repository="org/second"))
    await other.follow()
    assert other.manager.deployment("life") is not before
    assert other.manager.get("life").config.model.repository == "org/second"
    assert (await _call(other.manager, "life"))["generation"] == 3  # its third load: create, resume, update

    await one.manager.scale_to_zero("life")
    await other.follow()
    assert other.manager.get("life").status.state is State.SCALED_TO_ZERO
    assert other.manager.deployment("life") is None

    await other.manager.delete("life")
    await one.follow()
    assert one.manager.names() == []
    assert one.store.load_all() == []


async def test_a_stale_change_is_a_conflict_that_changes_nothing_and_a_retry_succeeds(
    pair: tuple[Server, Server],
) -> None:
    one, other = pair
    await one.manager.create(_config("raced"))
    await other.follow()
    await one.manager.update("raced", _config("raced", repository="org/first"))
    # The other has not heard of that update yet: its change starts from a revision no longer stored.
    with pytest.raises(Conflict):
        await other.manager.update("raced", _config("raced", repository="org/second"))
    assert _stored(one, "raced").config.model.repository == "org/first"
    # Refusing it, the other followed what is stored: a retry starts from there.
    assert other.manager.get("raced").config.model.repository == "org/first"
    await other.manager.pause("raced")
    assert _stored(one, "raced").status.state is State.PAUSED


async def test_creating_a_name_another_server_created_first_follows_it(pair: tuple[Server, Server]) -> None:
    one, other = pair
    await one.manager.create(_config("first"))
    with pytest.raises(AlreadyExists):
        await other.manager.create(_config("first", repository="org/late"))
    await other.manager.wait_until_settled()
    assert other.manager.get("first").config.model == ModelConfig("org/model", task="custom")
    assert other.manager.get("first").status.state is State.RUNNING


async def test_a_failure_on_one_server_stays_its_own(pair: tuple[Server, Server]) -> None:
    one, other = pair
    other.loader.failing.add("org/model")
    await one.manager.create(_config("half"))
    await one.manager.wait_until_settled()
    await other.follow()
    assert one.manager.get("half").status.state is State.RUNNING
    assert other.manager.get("half").status.state is State.FAILED
    assert _stored(one, "half").status.state is State.PENDING
    # A resume through the server where it failed loads it there again; the other keeps serving.
    other.loader.failing.clear()
    await other.manager.resume("half")
    await other.manager.wait_until_settled()
    await one.follow()
    assert other.manager.get("half").status.state is State.RUNNING
    assert (await _call(one.manager, "half"))["generation"] == 1


async def test_on_postgresql_the_follower_catches_up_after_its_listening_connection_is_lost(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The follower wired as app.py wires it: a change announced is followed at once, and one made while
    its listening connection was down is followed once the connection is back."""
    import psycopg

    url = postgres_server.database_for(str(tmp_path))
    settings = Settings(data_dir=tmp_path, idle_check_seconds=3600)
    databases = [PostgresDatabase(url), PostgresDatabase(url)]
    one, other = (
        EndpointManager(
            settings, PostgresEndpointStore(db), Metrics(), loader=Loader(), clock=Clock(), shared=True
        )
        for db in databases
    )
    follower = EndpointFollower(other, PostgresEndpointStore(databases[1]), asyncio.get_running_loop())
    try:
        databases[1].watch("endpoints", follower.changed)
        await one.start()
        await other.start()
        follower.start()
        await one.create(_config("heard"))
        assert await _soon(lambda: "heard" in other.names())
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND query LIKE 'LISTEN%%'",
                (url.rsplit("/", 1)[1],),
            )
        await one.pause("heard")  # announced while no one listens on the other's side
        await one.create(_config("missed"))
        assert await _soon(lambda: "missed" in other.names())
        assert other.get("heard").status.state is State.PAUSED
    finally:
        follower.stop()
        await one.close()
        await other.close()
        for db in databases:
            db.close()


async def _soon(check: Callable[[], bool], seconds: float = 10) -> bool:
    for _ in range(int(seconds / 0.05)):
        if check():
            return True
        await asyncio.sleep(0.05)
    return check()
