"""Where tokens are kept: hashed, with their grants.

``TokenTable`` is the contract; :mod:`inferhouse.auth.sqlite_table` keeps tokens in the main SQLite
database, :mod:`inferhouse.auth.postgres_table` in PostgreSQL. A table never sees a token in plain
text: rows are keyed by the token's SHA-256 hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredToken:
    """A token as stored: its hash (the principal's id), label, role, grants and when it was last used
    (None: never, or not since the server began recording it)."""

    token_hash: str
    name: str
    role: str
    created_at: float
    endpoints: frozenset[str] = frozenset()  # granted calling
    manages: frozenset[str] = frozenset()  # granted managing (and so calling)
    last_used: float | None = None


# A token and its grants in one query, in SQL that every backend speaks (a general token has no grant
# row); the last column tells a management grant (1) from a calling one (0).
WITH_GRANTS = (
    "SELECT t.token_hash, t.name, t.role, t.created_at, t.last_used, g.endpoint, 0 FROM tokens t "
    "LEFT JOIN token_grants g ON g.token_hash = t.token_hash {where} "
    "UNION ALL SELECT t.token_hash, t.name, t.role, t.created_at, t.last_used, m.endpoint, 1 FROM tokens t "
    "JOIN token_management m ON m.token_hash = t.token_hash {where}"
)


class TokenTable(Protocol):
    def insert(self, token: StoredToken) -> None:
        """Store a token with its grants, all or nothing; :class:`~inferhouse.errors.AlreadyExists`
        when its hash is stored already."""
        ...

    def get(self, token_hash: str) -> StoredToken | None:
        """The token with this hash and its grants (read together: this runs on every request)."""
        ...

    def list(self) -> list[StoredToken]:
        """Every stored token with its grants, oldest first."""
        ...

    def count(self) -> int: ...

    def record_use(self, token_hash: str, at: float) -> None:
        """Set when the token was last used to ``at``, unless a later time is stored already (servers
        sharing a database may record out of order); nothing when the hash is not stored."""
        ...

    def delete(self, token_hash: str) -> bool:
        """Remove the token and its grants; whether it was stored."""
        ...


def fold_grants(rows: list[tuple[object, ...]]) -> list[StoredToken]:
    """Fold the rows of :data:`WITH_GRANTS` into one token each, in the order first seen."""
    heads: dict[str, tuple[str, str, float, float | None]] = {}
    calls: dict[str, set[str]] = {}
    manages: dict[str, set[str]] = {}
    for digest, name, role, created_at, last_used, endpoint, managing in rows:
        key = str(digest)
        used = None if last_used is None else float(str(last_used))
        heads.setdefault(key, (str(name), str(role), float(str(created_at)), used))
        if endpoint is not None:
            (manages if managing else calls).setdefault(key, set()).add(str(endpoint))
    return [
        StoredToken(
            key,
            name,
            role,
            created_at,
            frozenset(calls.get(key, ())),
            frozenset(manages.get(key, ())),
            last_used,
        )
        for key, (name, role, created_at, last_used) in heads.items()
    ]
