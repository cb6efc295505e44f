"""Where tokens are kept: hashed, with their grants.

``TokenTable`` is the contract; :mod:`inferhouse.auth.sqlite_table` keeps tokens in the main SQLite
database. A table never sees a token in plain text: rows are keyed by the token's SHA-256 hash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class StoredToken:
    """A token as stored: its hash (the principal's id), label, role and grants."""

    token_hash: str
    name: str
    role: str
    created_at: float
    endpoints: frozenset[str] = frozenset()  # granted calling
    manages: frozenset[str] = frozenset()  # granted managing (and so calling)


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

    def delete(self, token_hash: str) -> bool:
        """Remove the token and its grants; whether it was stored."""
        ...
