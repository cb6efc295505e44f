"""Durable state. SQLite by default, PostgreSQL (:mod:`inferhouse.storage.postgres`) when a database URL
is set; each package declares its own tables."""

from inferhouse.storage.sqlite import Database, as_bytes

__all__ = ["Database", "as_bytes"]
