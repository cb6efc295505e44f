"""API tokens: generated, stored as SHA-256 hashes, checked on every request.

A token is either general (it may call everything except private endpoints, and manage the endpoints it
created; the admin role may call and manage every endpoint) or scoped to named endpoints, in which case
it reaches those endpoints and nothing else: ``inferhouse token create --endpoint NAME`` may call NAME,
``--manage NAME`` may call and manage it. What a principal may do with an endpoint is decided in
:mod:`inferhouse.endpoints.access`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from inferhouse.errors import Forbidden, Unauthorized
from inferhouse.storage import Database

TOKEN_PREFIX = "ih_"
ADMIN_TOKEN_FILE = "admin-token"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class FirstStart:
    """What to tell the operator when an admin token was generated on this start."""

    token: str
    saved_to: Path


@dataclass(frozen=True)
class Principal:
    """Who a request's token belongs to and what it was granted."""

    name: str
    role: str
    endpoints: frozenset[str] = frozenset()  # granted calling
    manages: frozenset[str] = frozenset()  # granted managing (and so calling)
    # What an endpoint records as its creator: the token's hash, or a fixed name for the env admin token
    # and the operator; never shown to callers.
    id: str = ""

    @property
    def scoped(self) -> bool:
        return bool(self.endpoints or self.manages)

    def granted(self, endpoint: str) -> bool:
        """Whether a grant of this token names ``endpoint`` (managing an endpoint includes calling it)."""
        return endpoint in self.endpoints or endpoint in self.manages

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def require_general(self) -> None:
        """Refuse a token scoped to endpoints on every route that is not one of those endpoints."""
        if self.scoped:
            names = ", ".join(sorted(self.endpoints | self.manages))
            raise Forbidden(f"This token is scoped to the endpoint(s) {names} and may only call those")


ANONYMOUS = Principal("anonymous", "none", id="anonymous")
# Who every request is when authentication is off: the loopback operator.
OPERATOR = Principal("operator", "admin", id="operator")
ENV_ADMIN = Principal("admin", "admin", id="env-admin")


class TokenStore:
    """Tokens live hashed in the database; an env-provided admin token is only ever held in memory."""

    def __init__(self, db: Database, admin_token: str | None = None) -> None:
        self._db = db
        self._env_admin_hash = _hash(admin_token) if admin_token else None

    def create(
        self, name: str, role: str = "user", endpoints: Iterable[str] = (), manages: Iterable[str] = ()
    ) -> str:
        """Make a token; with ``endpoints`` (calling) or ``manages`` (managing and calling) grants it is
        scoped to just those endpoints."""
        token = new_token()
        digest = _hash(token)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
                (digest, name, role, time.time()),
            )
            conn.executemany(
                "INSERT INTO token_grants (token_hash, endpoint) VALUES (?, ?)",
                [(digest, endpoint) for endpoint in sorted(set(endpoints))],
            )
            conn.executemany(
                "INSERT INTO token_management (token_hash, endpoint) VALUES (?, ?)",
                [(digest, endpoint) for endpoint in sorted(set(manages))],
            )
        return token

    def count(self) -> int:
        (row,) = self._db.query("SELECT COUNT(*) FROM tokens")
        return int(str(row[0]))

    def ensure_admin(self, data_dir: Path) -> FirstStart | None:
        """Generate an admin token if none exists yet; the plain token goes to a file only its owner reads."""
        if self._env_admin_hash is not None or self.count() > 0:
            return None
        token = self.create("admin", role="admin")
        path = data_dir / ADMIN_TOKEN_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(token + "\n")
        return FirstStart(token=token, saved_to=path)

    def lookup(self, token: str) -> Principal | None:
        digest = _hash(token)
        if self._env_admin_hash is not None and hmac.compare_digest(digest, self._env_admin_hash):
            return ENV_ADMIN
        # One query per request: the token and its grants (none for a general token) together.
        rows = self._db.query(
            "SELECT t.name, t.role, g.endpoint, 0 FROM tokens t "
            "LEFT JOIN token_grants g ON g.token_hash = t.token_hash WHERE t.token_hash = ? "
            "UNION ALL SELECT t.name, t.role, m.endpoint, 1 FROM tokens t "
            "JOIN token_management m ON m.token_hash = t.token_hash WHERE t.token_hash = ?",
            (digest, digest),
        )
        if not rows:
            return None
        name, role = rows[0][0], rows[0][1]
        calls = frozenset(str(row[2]) for row in rows if row[2] is not None and not row[3])
        manages = frozenset(str(row[2]) for row in rows if row[3])
        return Principal(str(name), str(role), calls, manages, id=digest)

    def is_valid(self, token: str) -> bool:
        return self.lookup(token) is not None

    def identify(self, authorization: str | None, api_key: str | None = None) -> Principal | None:
        """The principal behind a request's token, or None when it carries none.

        The token comes as ``Authorization: Bearer <token>`` or as ``Api-Key: <token>`` (what the
        Pinecone clients send). A token that is present but unknown or malformed raises
        :class:`Unauthorized`.
        """
        if api_key is not None and not authorization:
            principal = self.lookup(api_key.strip())
            if principal is None:
                raise Unauthorized("Invalid API key")
            return principal
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'")
        principal = self.lookup(token.strip())
        if principal is None:
            raise Unauthorized("Invalid token")
        return principal

    def check_request(self, authorization: str | None, api_key: str | None = None) -> Principal:
        """The principal behind the request; :class:`Unauthorized` when it carries no known token."""
        principal = self.identify(authorization, api_key)
        if principal is None:
            raise Unauthorized(
                "Missing token: send 'Authorization: Bearer <token>' or 'Api-Key: <token>' "
                "(see the server log or `inferhouse token create`)"
            )
        return principal
