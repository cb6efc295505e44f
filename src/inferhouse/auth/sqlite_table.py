"""Tokens in the main SQLite database: one row per token hash, its grants in two tables of their own.

The schema is numbered steps (``MIGRATIONS``), the same changes as ``auth/migrations/`` makes in
PostgreSQL: a newer version appends a step, never edits one a database may have run.
"""

from __future__ import annotations

import sqlite3

from inferhouse.auth.table import WITH_GRANTS, StoredToken, fold_grants
from inferhouse.errors import AlreadyExists
from inferhouse.storage import Database

# Step 1: the tables as first released.
TABLES = (
    """
    CREATE TABLE IF NOT EXISTS tokens (
        token_hash TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        created_at REAL NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS token_grants (
        token_hash TEXT NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
        endpoint TEXT NOT NULL,
        PRIMARY KEY (token_hash, endpoint)
    )
    """,
    # Endpoints a token may manage (and call); kept apart from token_grants, which grant calling only.
    """
    CREATE TABLE IF NOT EXISTS token_management (
        token_hash TEXT NOT NULL REFERENCES tokens(token_hash) ON DELETE CASCADE,
        endpoint TEXT NOT NULL,
        PRIMARY KEY (token_hash, endpoint)
    )
    """,
)

MIGRATIONS = (
    TABLES,
    # Step 2: when each token was last used (seconds since the epoch; NULL: not since this was added).
    ("ALTER TABLE tokens ADD COLUMN last_used REAL",),
)


class SqliteTokenTable:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.migrate("auth", MIGRATIONS)

    def insert(self, token: StoredToken) -> None:
        digest = token.token_hash
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO tokens (token_hash, name, role, created_at, last_used) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (digest, token.name, token.role, token.created_at, token.last_used),
                )
                conn.executemany(
                    "INSERT INTO token_grants (token_hash, endpoint) VALUES (?, ?)",
                    [(digest, endpoint) for endpoint in sorted(token.endpoints)],
                )
                conn.executemany(
                    "INSERT INTO token_management (token_hash, endpoint) VALUES (?, ?)",
                    [(digest, endpoint) for endpoint in sorted(token.manages)],
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists("A token with this hash is stored already") from None

    def get(self, token_hash: str) -> StoredToken | None:
        where = "WHERE t.token_hash = ?"
        found = fold_grants(self._db.query(WITH_GRANTS.format(where=where), (token_hash, token_hash)))
        return found[0] if found else None

    def list(self) -> list[StoredToken]:
        found = fold_grants(self._db.query(WITH_GRANTS.format(where="")))
        return sorted(found, key=lambda token: (token.created_at, token.token_hash))

    def record_use(self, token_hash: str, at: float) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE tokens SET last_used = ? WHERE token_hash = ? "
                "AND (last_used IS NULL OR last_used < ?)",
                (at, token_hash, at),
            )

    def count(self) -> int:
        (row,) = self._db.query("SELECT COUNT(*) FROM tokens")
        return int(str(row[0]))

    def delete(self, token_hash: str) -> bool:
        # Grants go explicitly: the connection does not enforce foreign keys, so ON DELETE CASCADE is
        # documentation only.
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM token_grants WHERE token_hash = ?", (token_hash,))
            conn.execute("DELETE FROM token_management WHERE token_hash = ?", (token_hash,))
            return conn.execute("DELETE FROM tokens WHERE token_hash = ?", (token_hash,)).rowcount > 0
