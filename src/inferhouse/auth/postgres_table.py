"""Tokens in PostgreSQL: the tables of ``auth/migrations/``, as in SQLite (one row per token hash, its
grants in two tables of their own, which the database deletes with the token)."""

from __future__ import annotations

from pathlib import Path

import psycopg

from inferhouse.auth.table import WITH_GRANTS, StoredToken, fold_grants
from inferhouse.errors import AlreadyExists
from inferhouse.storage.postgres import PostgresDatabase

MIGRATIONS = Path(__file__).parent / "migrations"


class PostgresTokenTable:
    def __init__(self, db: PostgresDatabase) -> None:
        self._db = db
        db.migrate(MIGRATIONS)

    def insert(self, token: StoredToken) -> None:
        digest = token.token_hash
        try:
            with self._db.transaction() as conn, conn.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO tokens (token_hash, name, role, created_at, last_used) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (digest, token.name, token.role, token.created_at, token.last_used),
                )
                cursor.executemany(
                    "INSERT INTO token_grants (token_hash, endpoint) VALUES (%s, %s)",
                    [(digest, endpoint) for endpoint in sorted(token.endpoints)],
                )
                cursor.executemany(
                    "INSERT INTO token_management (token_hash, endpoint) VALUES (%s, %s)",
                    [(digest, endpoint) for endpoint in sorted(token.manages)],
                )
        except psycopg.errors.UniqueViolation:
            raise AlreadyExists("A token with this hash is stored already") from None

    def get(self, token_hash: str) -> StoredToken | None:
        where = "WHERE t.token_hash = %s"
        found = fold_grants(self._db.query(WITH_GRANTS.format(where=where), (token_hash, token_hash)))
        return found[0] if found else None

    def list(self) -> list[StoredToken]:
        found = fold_grants(self._db.query(WITH_GRANTS.format(where="")))
        return sorted(found, key=lambda token: (token.created_at, token.token_hash))

    def record_use(self, token_hash: str, at: float) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "UPDATE tokens SET last_used = %s WHERE token_hash = %s "
                "AND (last_used IS NULL OR last_used < %s)",
                (at, token_hash, at),
            )

    def count(self) -> int:
        (row,) = self._db.query("SELECT COUNT(*) FROM tokens")
        return int(row[0])

    def delete(self, token_hash: str) -> bool:
        with self._db.transaction() as conn:  # grants go with the token (ON DELETE CASCADE)
            return conn.execute("DELETE FROM tokens WHERE token_hash = %s", (token_hash,)).rowcount > 0
