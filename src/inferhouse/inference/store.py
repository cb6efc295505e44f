"""Where inference configurations are kept: each config with its secret sealed beside it.

``InferenceStore`` is the contract; :mod:`inferhouse.inference.sqlite_store` keeps them in the main
SQLite database, :mod:`inferhouse.inference.postgres_store` in PostgreSQL. A store only ever holds a
secret sealed by :class:`~inferhouse.inference.secrets.SecretBox`; it never sees the plain text.
"""

from __future__ import annotations

from typing import Protocol

from inferhouse.inference.config import InferenceConfig


class InferenceStore(Protocol):
    def load_all(self) -> list[InferenceConfig]:
        """Every stored configuration, ordered by inference id."""
        ...

    def sealed_secret(self, inference_id: str) -> bytes | None:
        """The sealed secret stored with a configuration; None when it has none or none is stored."""
        ...

    def insert(self, config: InferenceConfig, sealed_secret: bytes | None) -> None:
        """Store a new configuration; :class:`~inferhouse.errors.AlreadyExists` when its id is taken."""
        ...

    def delete(self, inference_id: str) -> None:
        """Forget a configuration and its secret; nothing happens when none of that id is stored."""
        ...
