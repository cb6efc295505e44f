"""Durable state. SQLite by default; each package declares its own tables."""

from inferhouse.storage.sqlite import Database, as_bytes

__all__ = ["Database", "as_bytes"]
