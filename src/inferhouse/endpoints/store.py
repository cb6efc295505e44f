"""Where endpoints and their states are kept, so they come back after a restart.

``EndpointStore`` is the contract; :mod:`inferhouse.endpoints.sqlite_store` keeps them in the main SQLite
database, :mod:`inferhouse.endpoints.postgres_store` in PostgreSQL. A backend stores each endpoint whole,
under its name, in the form of ``StoredEndpoint.to_json``.
"""

from __future__ import annotations

from typing import Protocol

from inferhouse.endpoints.config import StoredEndpoint


class EndpointStore(Protocol):
    def load_all(self) -> list[StoredEndpoint]:
        """Every stored endpoint, ordered by name."""
        ...

    def save(self, record: StoredEndpoint) -> None:
        """Store ``record`` under its name, replacing what was stored there."""
        ...

    def delete(self, name: str) -> None:
        """Forget the endpoint; nothing happens when none of that name is stored."""
        ...
