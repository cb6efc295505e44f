"""The namespaces API on a pgvector index: namespaces created by name, and reads and writes by filter.

A namespace created by name is a row in a small table beside the index's own (``<table>_namespaces``),
so an empty one is shared by every replica and survives restarts. An update by filter is one ``UPDATE``
statement (jsonb ``||`` sets the given keys and keeps the rest), so it is atomic and durable when it
returns.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from inferhouse.errors import AlreadyExists, NotFound
from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.pgvector_codec import VectorCodec
from inferhouse.vectors.pgvector_rows import condition_of, record_of
from inferhouse.vectors.pgvector_tables import table_name
from inferhouse.vectors.rows import Metadata, VectorRow
from inferhouse.vectors.validation import MAX_METADATA_BYTES, check_merged_metadata

if TYPE_CHECKING:
    from inferhouse.vectors.index import IndexConfig
    from inferhouse.vectors.pgvector_index import Transactions


def _declared_table(index: str) -> sql.Identifier:
    return sql.Identifier(table_name(index) + "_namespaces")


def namespaces_table(conn: psycopg.Connection[Any], index: str) -> None:
    """Create index ``index``'s table of namespaces created by name, when it has none yet."""
    conn.execute(
        sql.SQL("CREATE TABLE IF NOT EXISTS {n} (name text PRIMARY KEY, schema jsonb)").format(
            n=_declared_table(index)
        )
    )


def drop_namespaces_table(conn: psycopg.Connection[Any], index: str) -> None:
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {n}").format(n=_declared_table(index)))


class PgNamespaceOperations:
    """Mixed into :class:`~inferhouse.vectors.pgvector_index.PgVectorIndex`, which sets these fields."""

    config: IndexConfig
    _db: Transactions
    _table: sql.Identifier
    _codec: VectorCodec

    def _sql(self, query: str, **parts: sql.Composable) -> sql.Composed:
        return sql.SQL(query).format(t=self._table, n=_declared_table(self.config.name), **parts)

    def declared_namespaces(self) -> dict[str, Metadata | None]:
        with self._db.transaction() as conn:
            rows = conn.execute(self._sql("SELECT name, schema FROM {n} ORDER BY name")).fetchall()
        return {row[0]: row[1] for row in rows}

    def create_namespace(self, namespace: str, schema: Metadata | None) -> None:
        with self._db.transaction() as conn:
            held = conn.execute(
                self._sql("SELECT EXISTS (SELECT 1 FROM {t} WHERE namespace = %s)"), (namespace,)
            ).fetchone()
            added = conn.execute(
                self._sql(
                    "INSERT INTO {n} (name, schema) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING name"
                ),
                (namespace, None if schema is None else json.dumps(schema)),
            ).fetchone()
            if (held is not None and held[0]) or added is None:  # raising rolls the insert back
                raise AlreadyExists(f"Namespace {namespace!r} already exists")

    def delete_namespace(self, namespace: str) -> None:
        with self._db.transaction() as conn:
            forgotten = conn.execute(self._sql("DELETE FROM {n} WHERE name = %s"), (namespace,)).rowcount
            deleted = conn.execute(self._sql("DELETE FROM {t} WHERE namespace = %s"), (namespace,)).rowcount
            if namespace and not forgotten and not deleted:
                raise NotFound(f"Namespace {namespace!r} not found")

    def fetch_matching(
        self, namespace: str, predicate: Predicate, after: str | None, limit: int
    ) -> list[VectorRow]:
        """Up to ``limit`` records that match, in id order, after id ``after``."""
        with self._db.transaction() as conn:
            rows = (
                self._codec.cursor(conn)
                .execute(
                    self._sql(
                        "SELECT id, embedding, sparse, metadata FROM {t} WHERE namespace = %s AND {c} "
                        "AND (%s::text IS NULL OR id > %s) ORDER BY id LIMIT %s",
                        c=condition_of(predicate),
                    ),
                    (namespace, after, after, limit),
                )
                .fetchall()
            )
        return [record_of(row) for row in rows]

    def update_matching(self, namespace: str, predicate: Predicate, patch: Metadata, dry_run: bool) -> int:
        """Merge ``patch`` into the metadata of every match, in one statement; returns how many matched."""
        condition = condition_of(predicate)
        with self._db.transaction() as conn:
            if dry_run or not patch:
                found = conn.execute(
                    self._sql("SELECT count(*) FROM {t} WHERE namespace = %s AND {c}", c=condition),
                    (namespace,),
                ).fetchone()
                return int(found[0]) if found else 0
            # jsonb's text is never shorter than compact JSON, so this finds every record the merge
            # could take over the limit; the exact size is then checked on those few.
            over = conn.execute(
                self._sql(
                    "SELECT id, metadata FROM {t} WHERE namespace = %s AND {c} AND "
                    "octet_length((coalesce(metadata, '{{}}'::jsonb) || %s::jsonb)::text) > %s",
                    c=condition,
                ),
                (namespace, json.dumps(patch), MAX_METADATA_BYTES),
            ).fetchall()
            for vector_id, current in over:
                check_merged_metadata(vector_id, current, patch)
            return conn.execute(
                self._sql(
                    "UPDATE {t} SET metadata = coalesce(metadata, '{{}}'::jsonb) || %s::jsonb "
                    "WHERE namespace = %s AND {c}",
                    c=condition,
                ),
                (json.dumps(patch), namespace),
            ).rowcount
