"""Where the index catalog is kept: each index's configuration under its name (its vectors live in
their own files, :mod:`inferhouse.vectors.store`).

``IndexCatalog`` is the contract; :mod:`inferhouse.vectors.sqlite_catalog` keeps the catalog in the main
SQLite database, :mod:`inferhouse.vectors.postgres_catalog` in PostgreSQL. Every backend stores a
configuration in the form of :func:`to_document`.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Protocol

from inferhouse.vectors.index import IndexConfig
from inferhouse.vectors.scoring import Metric


class IndexCatalog(Protocol):
    def load_all(self) -> list[IndexConfig]:
        """Every stored configuration, ordered by index name."""
        ...

    def insert(self, config: IndexConfig) -> None:
        """Store a new index; :class:`~inferhouse.errors.AlreadyExists` when its name is taken."""
        ...

    def update(self, config: IndexConfig) -> None:
        """Replace the stored configuration of the index of that name."""
        ...

    def delete(self, name: str) -> None:
        """Forget an index; nothing happens when none of that name is stored."""
        ...


def to_document(config: IndexConfig) -> dict[str, Any]:
    """The stored form of a configuration (JSON-ready)."""
    return asdict(config)


def from_document(data: dict[str, Any]) -> IndexConfig:
    return IndexConfig(**{**data, "metric": Metric(data["metric"])})
