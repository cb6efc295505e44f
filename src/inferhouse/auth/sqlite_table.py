"""Tokens in the main SQLite database: one row per token hash, its grants in two tables of their own."""

from __future__ import annotations

import sqlite3

from inferhouse.auth.table import StoredToken
from inferhouse.errors import AlreadyExists
from inferhouse.storage import Database

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

# A token and its grants in one query (no grant row for a general token); the last column tells a
# management grant (1) from a calling one (0).
_WITH_GRANTS = (
    "SELECT t.token_hash, t.name, t.role, t.created_at, g.endpoint, 0 FROM tokens t "
    "LEFT JOIN token_grants g ON g.token_hash = t.token_hash {where} "
    "UNION ALL SELECT t.token_hash, t.name, t.role, t.created_at, m.endpoint, 1 FROM tokens t "
    "JOIN token_management m ON m.token_hash = t.token_hash {where}"
)


class SqliteTokenTable:
    def __init__(self, db: Database) -> None:
        self._db = db
        db.declare(*TABLES)

    def insert(self, token: StoredToken) -> None:
        digest = token.token_hash
        try:
            with self._db.transaction() as conn:
                conn.execute(
                    "INSERT INTO tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
                    (digest, token.name, token.role, token.created_at),
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
        found = _gather(self._db.query(_WITH_GRANTS.format(where=where), (token_hash, token_hash)))
        return found[0] if found else None

    def list(self) -> list[StoredToken]:
        found = _gather(self._db.query(_WITH_GRANTS.format(where="")))
        return sorted(found, key=lambda token: (token.created_at, token.token_hash))

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


def _gather(rows: list[tuple[object, ...]]) -> list[StoredToken]:
    """Fold the rows of :data:`_WITH_GRANTS` into one token each, in the order first seen."""
    heads: dict[str, tuple[str, str, float]] = {}
    calls: dict[str, set[str]] = {}
    manages: dict[str, set[str]] = {}
    for digest, name, role, created_at, endpoint, managing in rows:
        key = str(digest)
        heads.setdefault(key, (str(name), str(role), float(str(created_at))))
        if endpoint is not None:
            (manages if managing else calls).setdefault(key, set()).add(str(endpoint))
    return [
        StoredToken(
            key, name, role, created_at, frozenset(calls.get(key, ())), frozenset(manages.get(key, ()))
        )
        for key, (name, role, created_at) in heads.items()
    ]
