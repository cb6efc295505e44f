"""Where endpoints and their states are kept, so they come back after a restart.

``EndpointStore`` is the contract; :mod:`inferhouse.endpoints.sqlite_store` keeps them in the main SQLite
database, :mod:`inferhouse.endpoints.postgres_store` in PostgreSQL. A backend stores each endpoint whole,
under its name, in the form of ``StoredEndpoint.to_json``.

Each management change is an ``edit``: a compare-and-set on the endpoint's ``revision``, so that of two
servers sharing one database the one that changes an endpoint from a revision it no longer holds is told
so (:class:`~inferhouse.errors.Conflict`) instead of undoing the other's change.
"""

from __future__ import annotations

import secrets
from typing import Protocol

from inferhouse.endpoints.config import StoredEndpoint
from inferhouse.errors import AlreadyExists, Conflict


class EndpointStore(Protocol):
    def load_all(self) -> list[StoredEndpoint]:
        """Every stored endpoint, ordered by name."""
        ...

    def save(self, record: StoredEndpoint) -> None:
        """Store ``record`` under its name, at the revision it carries, replacing what was stored there
        (how one server records the states its endpoints go through)."""
        ...

    def edit(self, record: StoredEndpoint, expected: str | None) -> str:
        """Store ``record`` as the next revision of its endpoint if the stored one is still at revision
        ``expected`` (None: if none of that name is stored), and return that new revision, one the name
        has not had before. Else raise :class:`AlreadyExists` (``expected`` None, one is stored) or
        :class:`Conflict` (another revision is stored, or none); nothing is changed then."""
        ...

    def delete(self, name: str) -> None:
        """Forget the endpoint; nothing happens when none of that name is stored."""
        ...


def new_revision() -> str:
    """A fresh revision: random, so a name deleted and created again never repeats one."""
    return secrets.token_hex(8)


def check_revision(name: str, stored: str | None, expected: str | None) -> None:
    """Raise unless the stored revision (None: no row) is the one the edit expects."""
    if stored == expected:
        return
    if expected is None:
        raise AlreadyExists(f"Endpoint {name} already exists")
    if stored is None:
        raise Conflict(f"Endpoint {name} was deleted by another server; nothing was changed")
    raise Conflict(
        f"Endpoint {name} was changed by another server since this one read it; nothing was changed: "
        "read it again and retry"
    )


def revision_of(raw: dict[str, object]) -> str:
    """The revision of a stored row's JSON ("" for a row stored before revisions were kept)."""
    return str(raw.get("revision") or "")
