"""Endpoint creators are stored and come back after a restart; endpoints stored without one (before
creators were recorded) are managed by admins only."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import orjson

from inferhouse.auth import Principal, SqliteTokenTable, TokenStore
from inferhouse.endpoints.access import may_manage
from inferhouse.endpoints.manager import EndpointManager
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.metrics import Metrics
from inferhouse.settings import Settings
from inferhouse.storage import Database
from tests.unit.endpoints.test_manager import Loader, _config


def _manager(db: Database) -> EndpointManager:
    return EndpointManager(
        Settings(data_dir=db.path.parent, idle_check_seconds=3600),
        SqliteEndpointStore(db),
        Metrics(),
        loader=Loader(),
    )


async def test_the_creator_survives_an_update_and_a_restart(tmp_path: Path) -> None:
    db = Database.in_data_dir(tmp_path)
    tokens = TokenStore(SqliteTokenTable(db))
    creator = tokens.lookup(tokens.create("creator"))
    other = tokens.lookup(tokens.create("other"))
    assert creator is not None
    assert other is not None
    first = _manager(db)
    await first.start()
    await first.create(_config("mine"), creator=creator.id)
    await first.update("mine", replace(_config("mine"), type="public"))
    await first.close()

    again = _manager(db)
    await again.start()
    record = again.get("mine")
    assert may_manage(creator, record)
    assert not may_manage(other, record)
    await again.close()
    db.close()


async def test_an_endpoint_stored_without_a_creator_is_managed_by_admins_only(tmp_path: Path) -> None:
    db = Database.in_data_dir(tmp_path)
    first = _manager(db)
    await first.start()
    await first.create(_config("old"), creator="someone")
    await first.close()
    # The shape endpoints were stored in before creators were recorded.
    (raw,) = db.query("SELECT config FROM endpoints WHERE name = 'old'")[0]
    stored = orjson.loads(bytes(raw))  # type: ignore[arg-type]
    del stored["creator"]
    with db.transaction() as conn:
        conn.execute("UPDATE endpoints SET config = ? WHERE name = 'old'", (orjson.dumps(stored),))

    again = _manager(db)
    await again.start()
    record = again.get("old")
    assert record.creator is None
    assert may_manage(Principal("admin", "admin", id="a"), record)
    assert not may_manage(Principal("user", "user", id="someone"), record)
    await again.close()
    db.close()
