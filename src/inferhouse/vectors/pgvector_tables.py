"""The table each pgvector index lives in: its name, and what it takes on disk."""

from __future__ import annotations

from typing import Any

import psycopg


def table_name(index: str) -> str:
    """The table of index ``index`` (names are lowercase letters, digits and hyphens)."""
    return "ih_vectors_" + index.replace("-", "_")


def table_bytes(conn: psycopg.Connection[Any], index: str) -> int:
    """Bytes of index ``index``'s table with its TOAST data and indexes (the HNSW graph included)."""
    row = conn.execute("SELECT pg_total_relation_size(to_regclass(%s))", (table_name(index),)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0
