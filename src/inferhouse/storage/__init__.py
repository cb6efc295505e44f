"""Durable state. SQLite by default."""

from inferhouse.storage.sqlite import Database

__all__ = ["Database"]
