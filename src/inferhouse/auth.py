"""API tokens: generated, stored as SHA-256 hashes, checked on every request."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from inferhouse.errors import Unauthorized
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


class TokenStore:
    """Tokens live hashed in the database; an env-provided admin token is only ever held in memory."""

    def __init__(self, db: Database, admin_token: str | None = None) -> None:
        self._db = db
        self._env_admin_hash = _hash(admin_token) if admin_token else None

    def create(self, name: str, role: str = "user") -> str:
        token = new_token()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO tokens (token_hash, name, role, created_at) VALUES (?, ?, ?, ?)",
                (_hash(token), name, role, time.time()),
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

    def is_valid(self, token: str) -> bool:
        digest = _hash(token)
        if self._env_admin_hash is not None and hmac.compare_digest(digest, self._env_admin_hash):
            return True
        return bool(self._db.query("SELECT 1 FROM tokens WHERE token_hash = ?", (digest,)))

    def check_request(self, authorization: str | None, api_key: str | None = None) -> None:
        """Raise :class:`Unauthorized` unless the request carries a known token, as ``Authorization:
        Bearer <token>`` or as ``Api-Key: <token>`` (what the Pinecone clients send)."""
        if api_key is not None and not authorization:
            if not self.is_valid(api_key.strip()):
                raise Unauthorized("Invalid API key")
            return
        if not authorization:
            raise Unauthorized(
                "Missing token: send 'Authorization: Bearer <token>' or 'Api-Key: <token>' "
                "(see the server log or `inferhouse token create`)"
            )
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("Malformed Authorization header: expected 'Bearer <token>'")
        if not self.is_valid(token.strip()):
            raise Unauthorized("Invalid token")
