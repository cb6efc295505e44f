"""What the namespaces API keeps in an embedded store's SQLite file, and how its journal entries land there.

Namespaces created by name live in a table of their own, so an empty one survives a restart; an update
by filter is journaled as the ids it matched and the metadata it sets, and folded in here row by row
(the journal entry, not this fold, is what makes it durable).
"""

from __future__ import annotations

import sqlite3
from typing import Any

import orjson

from inferhouse.vectors.operations import DeclareNamespace, ForgetNamespace, NamespaceOperation

NAMESPACES_TABLE = "CREATE TABLE IF NOT EXISTS namespaces (name TEXT PRIMARY KEY, schema BLOB)"
_IDS_PER_STATEMENT = 500


def read_declared(conn: sqlite3.Connection) -> dict[str, dict[str, Any] | None]:
    """Each namespace created by name, with its schema (None when it was given none)."""
    rows = conn.execute("SELECT name, schema FROM namespaces ORDER BY name").fetchall()
    return {name: orjson.loads(schema) if schema else None for name, schema in rows}


def apply_namespace_operation(conn: sqlite3.Connection, operation: NamespaceOperation) -> None:
    if isinstance(operation, DeclareNamespace):
        schema = None if operation.schema is None else orjson.dumps(operation.schema)
        conn.execute(
            "INSERT OR REPLACE INTO namespaces (name, schema) VALUES (?, ?)", (operation.namespace, schema)
        )
    elif isinstance(operation, ForgetNamespace):
        conn.execute("DELETE FROM vectors WHERE namespace = ?", (operation.namespace,))
        conn.execute("DELETE FROM namespaces WHERE name = ?", (operation.namespace,))
    else:
        patch = operation.patch
        for start in range(0, len(operation.ids), _IDS_PER_STATEMENT):
            ids = operation.ids[start : start + _IDS_PER_STATEMENT]
            marks = ",".join("?" * len(ids))
            found = conn.execute(
                f"SELECT id, metadata FROM vectors WHERE namespace = ? AND id IN ({marks})",
                (operation.namespace, *ids),
            ).fetchall()
            conn.executemany(
                "UPDATE vectors SET metadata = ? WHERE namespace = ? AND id = ?",
                [
                    (orjson.dumps({**(orjson.loads(meta) if meta else {}), **patch}), operation.namespace, i)
                    for i, meta in found
                ],
            )
