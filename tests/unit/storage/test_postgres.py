"""The PostgreSQL connection layer: clear errors without the password, migrations applied once (a
database of an earlier schema gains what later ones add), and a connection the server dropped replaced
before the next query."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import psycopg
import pytest
from pydantic import ValidationError

from inferhouse.auth import StoredToken
from inferhouse.auth.postgres_table import MIGRATIONS as AUTH_MIGRATIONS
from inferhouse.auth.postgres_table import PostgresTokenTable
from inferhouse.errors import Unavailable
from inferhouse.settings import Settings
from inferhouse.storage.postgres import PostgresDatabase, redacted
from inferhouse.stores import open_stores
from tests.support.postgres import PostgresServer
from tests.support.server import free_port


def test_redacted_hides_only_the_password() -> None:
    assert (
        redacted("postgresql://app:s3cret@db.internal:5433/state")
        == "postgresql://app:***@db.internal:5433/state"
    )
    assert redacted("postgresql://db.internal/state") == "postgresql://db.internal/state"


def test_settings_take_only_a_postgresql_url() -> None:
    assert Settings(database_url="postgres://db/state").database_url == "postgres://db/state"
    with pytest.raises(ValidationError):
        Settings(database_url="mysql://db/state")


def test_an_unreachable_database_is_unavailable_naming_the_server_not_the_password() -> None:
    url = f"postgresql://app:s3cret@127.0.0.1:{free_port()}/state"
    with pytest.raises(Unavailable) as raised:
        PostgresDatabase(url, connect_timeout=1)
    assert f"127.0.0.1:{url.rsplit(':', 1)[1].split('/')[0]}" in raised.value.message
    assert "s3cret" not in raised.value.message


def test_migrations_run_once_each_and_reopening_changes_nothing(postgres_server: PostgresServer) -> None:
    url = postgres_server.database_for("migrations-once")
    for _ in range(2):
        stores = open_stores(Settings(database_url=url))
        assert stores.backend == "postgresql"
        stores.close()
    db = PostgresDatabase(url)
    try:
        applied = [row[0] for row in db.query("SELECT migration_id FROM _yoyo_migration ORDER BY 1")]
        assert applied == [
            "auth_0001_create",
            "auth_0002_last_used",
            "endpoints_0001_create",
            "endpoints_0002_notify",
            "inference_0001_create",
            "inference_0002_notify",
            "vectors_0001_create",
            "vectors_0002_notify",
            "vectors_0003_backups",
            "vectors_0004_import_jobs",
        ]
    finally:
        db.close()


def test_a_database_of_the_first_token_schema_gains_last_used_with_its_rows_kept(
    postgres_server: PostgresServer, tmp_path: Path
) -> None:
    first = tmp_path / "auth-0001"
    first.mkdir()
    shutil.copy(AUTH_MIGRATIONS / "auth_0001_create.sql", first)
    db = PostgresDatabase(postgres_server.database_for("auth-upgrade"))
    try:
        db.migrate(first)  # the schema as the first version left it, with a token in it
        with db.transaction() as conn:
            conn.execute("INSERT INTO tokens VALUES ('old-hash', 'ci', 'user', 1.0)")
            conn.execute("INSERT INTO token_grants VALUES ('old-hash', 'reader')")
        table = PostgresTokenTable(db)
        assert table.list() == [StoredToken("old-hash", "ci", "user", 1.0, frozenset({"reader"}))]
        table.record_use("old-hash", 60.0)
        assert table.get("old-hash") == StoredToken(
            "old-hash", "ci", "user", 1.0, frozenset({"reader"}), last_used=60.0
        )
    finally:
        db.close()


def test_a_connection_the_server_dropped_is_replaced(postgres_server: PostgresServer) -> None:
    db = PostgresDatabase(postgres_server.database_for("dropped-connection"), max_connections=1)
    try:
        (pid,) = db.query("SELECT pg_backend_pid()")[0]
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))  # returns once it is gone
        assert db.query("SELECT pg_backend_pid() <> %s", (pid,)) == [(True,)]
    finally:
        db.close()


def test_watch_hears_another_connection_commit_and_calls_again_after_a_lost_connection(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.database_for("watch")
    writer, watcher = open_stores(Settings(database_url=url)), PostgresDatabase(url)
    heard = threading.Semaphore(0)
    try:
        watcher.watch("indexes", heard.release)
        writer.indexes.delete("none")  # a statement that changes nothing still announces itself
        assert heard.acquire(timeout=10)
        with psycopg.connect(postgres_server.url(), autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = %s AND query LIKE 'LISTEN%%'",
                (url.rsplit("/", 1)[1],),
            )
        assert heard.acquire(timeout=10)  # back, it cannot know what it missed: it says so
    finally:
        watcher.close()
        writer.close()


def test_servers_starting_together_migrate_once(postgres_server: PostgresServer) -> None:
    url = postgres_server.database_for("starting-together")
    opener = (
        "import sys; from inferhouse.settings import Settings; from inferhouse.stores import open_stores; "
        "open_stores(Settings(database_url=sys.argv[1])).close()"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    starts = [subprocess.Popen([sys.executable, "-c", opener, url], env=env) for _ in range(3)]
    assert [start.wait(timeout=60) for start in starts] == [0, 0, 0]
    db = PostgresDatabase(url)
    try:
        assert db.query("SELECT COUNT(*), COUNT(DISTINCT migration_id) FROM _yoyo_migration") == [(10, 10)]
    finally:
        db.close()


def test_a_missing_driver_names_the_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "psycopg_pool", None)  # what an install without the extra has
    with pytest.raises(RuntimeError, match=r"pip install 'inferhouse\[postgres\]'"):
        PostgresDatabase("postgresql://db.internal/state")
