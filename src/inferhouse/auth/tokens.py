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

from inferhouse.auth.last_used import UseRecorder
from inferhouse.auth.principal import ENV_ADMIN, Principal
from inferhouse.auth.table import StoredToken, TokenTable
from inferhouse.errors import Unauthorized

TOKEN_PREFIX = "ih_"
ADMIN_TOKEN_FILE = "admin-token"


def token_hash(token: str) -> str:
    """What a table keys a token by (and a principal's id): its SHA-256 hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class FirstStart:
    """What to tell the operator when an admin token was generated on this start."""

    token: str
    saved_to: Path


class TokenStore:
    """Tokens live hashed in a :class:`TokenTable`; an env-provided admin token is only ever held in
    memory."""

    def __init__(
        self, table: TokenTable, admin_token: str | None = None, uses: UseRecorder | None = None
    ) -> None:
        self._table = table
        self._env_admin_hash = token_hash(admin_token) if admin_token else None
        # When stored tokens were last used; the env admin token is not stored, so not recorded.
        self._uses = uses or UseRecorder(table)

    def create(
        self, name: str, role: str = "user", endpoints: Iterable[str] = (), manages: Iterable[str] = ()
    ) -> str:
        """Make a token; with ``endpoints`` (calling) or ``manages`` (managing and calling) grants it is
        scoped to just those endpoints."""
        token = new_token()
        self._table.insert(
            StoredToken(token_hash(token), name, role, time.time(), frozenset(endpoints), frozenset(manages))
        )
        return token

    def count(self) -> int:
        return self._table.count()

    def list(self) -> list[StoredToken]:
        """Every stored token (hashes, grants and last use, never a token itself), oldest first."""
        return self._table.list()

    def revoke(self, token_id: str) -> bool:
        """Revoke the token whose principal id (its hash) is ``token_id``; whether one was stored.
        The env admin token is not stored and cannot be revoked here."""
        self._uses.forget(token_id)
        return self._table.delete(token_id)

    def revoke_named(self, name: str) -> int:
        """Revoke every stored token labelled ``name`` (labels need not be unique); how many."""
        return sum(self.revoke(token.token_hash) for token in self._table.list() if token.name == name)

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
        """The principal behind ``token``, or None; a stored token found counts as used."""
        digest = token_hash(token)
        if self._env_admin_hash is not None and hmac.compare_digest(digest, self._env_admin_hash):
            return ENV_ADMIN
        stored = self._table.get(digest)
        if stored is None:
            return None
        self._uses.used(digest)
        return Principal(stored.name, stored.role, stored.endpoints, stored.manages, id=digest)

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
