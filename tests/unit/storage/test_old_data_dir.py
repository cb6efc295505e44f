"""A data directory written before each package declared its own tables opens with nothing lost: the
tables keep their names and columns, gain only the columns later migrations add, and every row reads
back through the stores."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from cryptography.fernet import Fernet

from inferhouse.auth import SqliteTokenTable, TokenStore
from inferhouse.endpoints.config import State
from inferhouse.endpoints.sqlite_store import SqliteEndpointStore
from inferhouse.inference.config import TaskType
from inferhouse.inference.secrets import SecretBox
from inferhouse.inference.sqlite_store import SqliteInferenceStore
from inferhouse.storage import Database
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.sqlite_catalog import SqliteIndexCatalog

# The schema storage/sqlite.py applied to every database before the tables moved to their packages.
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS token_grants (
    token_hash TEXT NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    PRIMARY KEY (token_hash, endpoint)
);
CREATE TABLE IF NOT EXISTS token_management (
    token_hash TEXT NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
    endpoint TEXT NOT NULL,
    PRIMARY KEY (token_hash, endpoint)
);
CREATE TABLE IF NOT EXISTS endpoints (name TEXT PRIMARY KEY, config BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS indexes (name TEXT PRIMARY KEY, config BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS inference_configs (
    inference_id TEXT PRIMARY KEY, config BLOB NOT NULL, secret BLOB
);
"""

SCALING = '"scaling":{"minReplica":1,"maxReplica":1,"scaleToZeroTimeout":null}'
ENDPOINT_CONFIG = (
    '{"name":"old-endpoint","type":"protected","model":{"repository":"org/model","revision":null,'
    '"task":"feature-extraction","framework":"pytorch","image":{"huggingface":{}},"env":{}},'
    '"compute":{"accelerator":"cpu","instanceType":"intel-icl","instanceSize":"x1",' + SCALING + "},"
    '"provider":{"vendor":"local","region":"local"}}'
)
# Rows exactly as the previous version wrote them.
OLD_ENDPOINT = (
    '{"creator":"abc","config":' + ENDPOINT_CONFIG + ',"serving":' + ENDPOINT_CONFIG + ","
    '"status":{"state":"running","message":null,"createdAt":"2024-01-01T00:00:00Z",'
    '"updatedAt":"2024-01-02T00:00:00Z"}}'
)
OLD_INDEX = (
    '{"name":"old-index","dimension":8,"metric":"cosine","deletion_protection":"disabled",'
    '"tags":{"team":"a"},"spec":{},"created_at":1700000000.0,"embed":{"model":"e5","field_map":{"text":"body"}}}'
)
OLD_INFERENCE = (
    '{"inference_id":"old-embedder","task_type":"text_embedding","service":"hugging_face",'
    '"service_settings":{"url":"http://127.0.0.1:9/embed"}}'
)
# What later versions added to that schema: the table that counts each package's migrations, and theirs.
MIGRATED = {"schema_versions", "tokens.last_used"}
ADMIN_TOKEN = "ih_old-admin"
SCOPED_TOKEN = "ih_old-scoped"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _write_old_database(path: Path, sealed: bytes) -> None:
    with sqlite3.connect(path) as conn:
        conn.executescript(OLD_SCHEMA)
        conn.executemany(
            "INSERT INTO tokens VALUES (?, ?, ?, ?)",
            [(_digest(ADMIN_TOKEN), "admin", "admin", 1.0), (_digest(SCOPED_TOKEN), "ci", "user", 2.0)],
        )
        conn.execute("INSERT INTO token_grants VALUES (?, 'reader')", (_digest(SCOPED_TOKEN),))
        conn.execute("INSERT INTO token_management VALUES (?, 'mine')", (_digest(SCOPED_TOKEN),))
        conn.execute("INSERT INTO endpoints VALUES ('old-endpoint', ?)", (OLD_ENDPOINT.encode(),))
        conn.execute("INSERT INTO indexes VALUES ('old-index', ?)", (OLD_INDEX.encode(),))
        conn.execute(
            "INSERT INTO inference_configs VALUES ('old-embedder', ?, ?)", (OLD_INFERENCE.encode(), sealed)
        )
    conn.close()


def _columns(path: Path) -> dict[str, list[tuple[object, ...]]]:
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        found = {table: conn.execute(f"PRAGMA table_info({table})").fetchall() for table in sorted(tables)}
    conn.close()
    return found


def _open_all(db: Database) -> None:
    SqliteTokenTable(db)
    SqliteEndpointStore(db)
    SqliteInferenceStore(db)
    SqliteIndexCatalog(db)


def test_an_old_data_dir_reads_back_through_the_stores(tmp_path: Path) -> None:
    box = SecretBox(Fernet.generate_key())
    _write_old_database(tmp_path / "inferhouse.db", box.seal("hf_old_secret"))
    db = Database.in_data_dir(tmp_path)
    try:
        tokens = TokenStore(SqliteTokenTable(db))
        endpoints = SqliteEndpointStore(db)
        inference = SqliteInferenceStore(db)
        catalog = SqliteIndexCatalog(db)

        assert [token.last_used for token in tokens.list()] == [None, None]  # the column the upgrade added
        admin = tokens.lookup(ADMIN_TOKEN)
        scoped = tokens.lookup(SCOPED_TOKEN)
        assert admin is not None
        assert (admin.name, admin.role, admin.scoped, admin.id) == (
            "admin",
            "admin",
            False,
            _digest(ADMIN_TOKEN),
        )
        assert scoped is not None
        assert (scoped.endpoints, scoped.manages) == (frozenset({"reader"}), frozenset({"mine"}))
        assert tokens.count() == 2

        (endpoint,) = endpoints.load_all()
        assert endpoint.config.name == "old-endpoint"
        assert endpoint.status.state is State.RUNNING
        assert endpoint.creator == "abc"
        assert endpoint.serving == endpoint.config

        (config,) = inference.load_all()
        assert (config.inference_id, config.task_type) == ("old-embedder", TaskType.TEXT_EMBEDDING)
        sealed = inference.sealed_secret("old-embedder")
        assert sealed is not None
        assert box.open(sealed, "old-embedder") == "hf_old_secret"

        (index,) = catalog.load_all()
        assert (index.name, index.dimension, index.metric) == ("old-index", 8, Metric.COSINE)
        assert index.tags == {"team": "a"}
        assert index.embed == {"model": "e5", "field_map": {"text": "body"}}
    finally:
        db.close()


def _added_since(
    old: dict[str, list[tuple[object, ...]]], new: dict[str, list[tuple[object, ...]]]
) -> set[str]:
    """The tables and columns ``new`` has beyond ``old``, which must all be kept as they were."""
    for table, columns in old.items():
        assert new[table][: len(columns)] == columns, table
    added = {f"{table}.{column[1]}" for table in old for column in new[table][len(old[table]) :]}
    return added | {table for table in new if table not in old}


def test_a_new_database_has_the_old_tables_and_columns_and_the_migrated_ones(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    _write_old_database(old / "inferhouse.db", b"sealed")
    db = Database.in_data_dir(new)
    _open_all(db)
    db.close()
    assert _added_since(_columns(old / "inferhouse.db"), _columns(new / "inferhouse.db")) == MIGRATED


def test_an_old_database_is_migrated_once_and_reopening_changes_nothing(tmp_path: Path) -> None:
    _write_old_database(tmp_path / "inferhouse.db", b"sealed")
    before = _columns(tmp_path / "inferhouse.db")
    db = Database.in_data_dir(tmp_path)
    _open_all(db)
    db.close()
    migrated = _columns(tmp_path / "inferhouse.db")
    assert _added_since(before, migrated) == MIGRATED
    for _ in range(2):
        db = Database.in_data_dir(tmp_path)
        _open_all(db)
        db.close()
    assert _columns(tmp_path / "inferhouse.db") == migrated
    db = Database.in_data_dir(tmp_path)
    try:
        assert TokenStore(SqliteTokenTable(db)).count() == 2
    finally:
        db.close()
