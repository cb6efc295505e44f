"""One vector index kept in PostgreSQL with pgvector, so every API replica on that database serves it.

Each index is one table (namespace, id, a ``vector(dimension)``, sparse values, ``jsonb`` metadata) and,
once it is large, an HNSW index for its metric. It answers the same operations as the embedded
:class:`~inferhouse.vectors.index.VectorIndex`, with the same results and errors:

- an unfiltered dense query walks the HNSW graph (``ef_search`` the settings' ``candidates``, at least
  twice ``top_k``) once the index has one, which it builds past ``INFERHOUSE_ANN_MIN_VECTORS`` rows as
  the embedded backend does; a filtered query uses a metadata index or an iterative graph scan
  (``pgvector_filtered.py``) and a hybrid (sparse) one is exact over the rows the filter keeps;
- scores are Pinecone's (cosine similarity, squared euclidean distance, dot product), ties go to the
  smaller id, ids list in byte order;
- every write is one transaction, durable when acknowledged, and visible to every replica at once;
- vectors travel in pgvector's binary format (``pgvector_codec.py``), never as decimal text.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import psycopg
from psycopg import sql
from psycopg.adapt import PyFormat

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.filters import Predicate
from inferhouse.vectors.index import IndexConfig, Match, StaleFinder
from inferhouse.vectors.page_tokens import decode_token, encode_token
from inferhouse.vectors.pgvector_codec import VectorCodec, pack
from inferhouse.vectors.pgvector_filtered import EF_SEARCH_LIMIT, create_metadata_index, filtered_rows
from inferhouse.vectors.pgvector_namespaces import (
    PgNamespaceOperations,
    drop_namespaces_table,
    namespaces_table,
)
from inferhouse.vectors.pgvector_rows import condition_of as _condition
from inferhouse.vectors.pgvector_rows import record_of as _row
from inferhouse.vectors.pgvector_tables import table_bytes, table_name
from inferhouse.vectors.rows import Metadata, RowBatch, SparseValues, VectorRow, updated_row
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.validation import check_matches_index, check_sparse_allowed

# Operator and HNSW operator class per metric; the SQL score turns the distance into Pinecone's score.
_DISTANCE = {Metric.COSINE: "<=>", Metric.EUCLIDEAN: "<->", Metric.DOTPRODUCT: "<#>"}
_OPCLASS = {
    Metric.COSINE: "vector_cosine_ops",
    Metric.EUCLIDEAN: "vector_l2_ops",
    Metric.DOTPRODUCT: "vector_ip_ops",
}
_SCORE = {
    Metric.COSINE: "1 - (embedding <=> {q})",
    Metric.EUCLIDEAN: "(embedding <-> {q}) ^ 2",
    Metric.DOTPRODUCT: "-(embedding <#> {q})",
}
# How often an index below its graph threshold counts its rows again.
_GRAPH_CHECK_SECONDS = 5.0


class Transactions(Protocol):
    """A database handing out a pooled connection inside BEGIN ... COMMIT (storage/postgres.py's)."""

    def transaction(self) -> AbstractContextManager[psycopg.Connection[Any]]: ...


class PgVectorIndex(PgNamespaceOperations):
    """Each operation is one transaction on a pooled connection; an index holds none in between."""

    def __init__(self, config: IndexConfig, db: Transactions, ann: AnnSettings | None = None) -> None:
        self.config = config
        self._db = db
        settings = ann or AnnSettings()
        self._min_vectors = settings.min_vectors
        self._ef_search = max(settings.candidates, settings.search_width)
        # The embedded graph's shape: pgvector's default (m 16, ef_construction 64) reached recall@10
        # 0.86 at a million vectors with ef_search 100 (benchmarks/README.md, vector_scale.py).
        self._graph_shape = (settings.connectivity, settings.expansion_add)
        self._table = sql.Identifier(table_name(config.name))
        self._graph = sql.Identifier(table_name(config.name) + "_hnsw")
        self._has_graph = False
        self._next_check = 0.0
        with self._db.transaction() as conn:
            # Two opens at once (a restore publishing and a reload it notified) race in CREATE ... IF NOT
            # EXISTS; one lock per table makes the second wait and then find the tables.
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (table_name(config.name),))
            self._codec = VectorCodec.fetch(conn)
            self._execute(
                conn,
                'CREATE TABLE IF NOT EXISTS {t} (namespace text NOT NULL, id text COLLATE "C" NOT NULL, '
                "embedding vector({d}) NOT NULL, sparse jsonb, metadata jsonb, PRIMARY KEY (namespace, id))",
                d=sql.Literal(config.dimension),
            )
            namespaces_table(conn, config.name)
            create_metadata_index(self._execute, conn, table_name(config.name))

    def _execute(
        self,
        conn: psycopg.Connection[Any],
        query: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        **parts: Any,
    ) -> psycopg.Cursor[Any]:
        return self._codec.cursor(conn).execute(sql.SQL(query).format(t=self._table, **parts), params)

    # -- writes ----------------------------------------------------------------------------------------

    def upsert(self, namespace: str, records: list[VectorRow] | RowBatch) -> int:
        batch = records if isinstance(records, RowBatch) else RowBatch.of(records)
        check_sparse_allowed(self.config.metric, batch.sparse)
        if len(batch):
            check_matches_index(batch.values.shape[-1], self.config.dimension)
        with self._db.transaction() as conn:
            self._write(conn, namespace, batch)
        return len(batch)

    def _write(self, conn: psycopg.Connection[Any], namespace: str, batch: RowBatch) -> None:
        latest = {vector_id: position for position, vector_id in enumerate(batch.ids)}  # the later one wins
        rows = [
            (
                namespace,
                vector_id,
                pack(batch.values[position]),
                _sparse_json(batch.sparse[position]),
                None if batch.metadata[position] is None else json.dumps(batch.metadata[position]),
            )
            for vector_id, position in latest.items()
        ]
        statement = sql.SQL(
            "INSERT INTO {t} (namespace, id, embedding, sparse, metadata) VALUES (%s, %s, %b, %s, %s) "
            "ON CONFLICT (namespace, id) DO UPDATE SET embedding = EXCLUDED.embedding, "
            "sparse = EXCLUDED.sparse, metadata = EXCLUDED.metadata"
        ).format(t=self._table)
        with self._codec.cursor(conn) as cursor:
            cursor.executemany(statement, rows)

    def replace(self, namespace: str, batch: RowBatch, stale_of: StaleFinder) -> int:
        """Upsert ``batch`` and delete what ``stale_of`` names, in one transaction (readers see either)."""
        if len(batch):
            check_matches_index(batch.values.shape[-1], self.config.dimension)
        with self._db.transaction() as conn:
            keep = set(batch.ids)
            # The lookups lock the rows they find, so two replaces of one record queue.
            stale = [
                vector_id
                for vector_id in stale_of(lambda vector_id: self._get(conn, namespace, vector_id, lock=True))
                if vector_id not in keep
            ]
            self._write(conn, namespace, batch)
            self._delete_ids(conn, namespace, stale)
        return len(batch)

    def update(
        self,
        namespace: str,
        vector_id: str,
        values: npt.NDArray[np.float32] | None,
        sparse: SparseValues | None,
        set_metadata: Metadata | None,
    ) -> bool:
        check_sparse_allowed(self.config.metric, [sparse])
        with self._db.transaction() as conn:
            current = self._get(conn, namespace, vector_id, lock=True)
            if current is None:
                return False
            updated = updated_row(current, values, sparse, set_metadata)
            check_matches_index(len(updated.values), self.config.dimension)
            self._write(conn, namespace, RowBatch.of([updated]))
        return True

    def delete(self, namespace: str, ids: list[str]) -> None:
        with self._db.transaction() as conn:
            self._delete_ids(conn, namespace, ids)

    def _delete_ids(self, conn: psycopg.Connection[Any], namespace: str, ids: list[str]) -> None:
        if ids:
            self._execute(conn, "DELETE FROM {t} WHERE namespace = %s AND id = ANY(%s)", (namespace, ids))

    def delete_matching(self, namespace: str, predicate: Predicate) -> None:
        with self._db.transaction() as conn:
            self._execute(
                conn,
                "DELETE FROM {t} WHERE namespace = %s AND {condition}",
                (namespace,),
                condition=_condition(predicate),
            )

    def delete_all(self, namespace: str) -> None:
        with self._db.transaction() as conn:
            self._execute(conn, "DELETE FROM {t} WHERE namespace = %s", (namespace,))

    # -- reads -----------------------------------------------------------------------------------------

    def query(
        self,
        namespace: str,
        vector: npt.NDArray[np.float32],
        top_k: int,
        predicate: Predicate | None = None,
        sparse: SparseValues | None = None,
    ) -> list[Match]:
        condition = sql.SQL("TRUE") if predicate is None else _condition(predicate)
        if sparse is not None:
            return self._hybrid(namespace, vector, top_k, condition, sparse)
        metric = self.config.metric
        statement = (
            "SELECT id, embedding, sparse, metadata, {score} FROM {t} WHERE namespace = %(namespace)s "
            "AND {condition} ORDER BY embedding {op} %(query)b{tie_break} LIMIT %(top_k)s"
        )
        params = {"namespace": namespace, "query": pack(np.asarray(vector)), "top_k": top_k}
        parts = {
            "score": sql.SQL(_SCORE[metric]).format(q=sql.Placeholder("query", PyFormat.BINARY)),
            "condition": condition,
            "op": sql.SQL(_DISTANCE[metric]),
        }
        with self._db.transaction() as conn:
            if predicate is None:
                ef_search = min(max(self._ef_search, 2 * top_k), EF_SEARCH_LIMIT)
                self._execute(conn, f"SET LOCAL hnsw.ef_search = {ef_search}")
                # The graph serves ORDER BY distance alone; ties are put in id order below.
                rows = self._execute(conn, statement, params, tie_break=sql.SQL(""), **parts).fetchall()
            else:  # pgvector_filtered.py: the metadata index or an iterative graph scan
                rows = filtered_rows(self._execute, conn, statement, params, parts, top_k, self._ef_search)
        matches = [Match(_row(row), float(row[4])) for row in rows]
        best_first = -1.0 if metric.higher_is_better else 1.0
        matches.sort(key=lambda match: (best_first * match.score, match.record.id.encode()))
        return matches

    def _hybrid(
        self,
        namespace: str,
        vector: npt.NDArray[np.float32],
        top_k: int,
        condition: sql.Composable,
        sparse: SparseValues,
    ) -> list[Match]:
        """Dense dot product plus sparse dot product, exact: scored here over the rows the filter keeps."""
        with self._db.transaction() as conn:
            rows = self._execute(
                conn,
                "SELECT id, embedding, sparse, metadata FROM {t} WHERE namespace = %s AND {condition}",
                (namespace,),
                condition=condition,
            ).fetchall()
        weights = dict(zip(sparse.indices.tolist(), sparse.values.tolist(), strict=True))
        scored = []
        for row in rows:
            record = _row(row)
            total = float(record.values @ np.asarray(vector, dtype=np.float32))
            if record.sparse is not None:
                pairs = zip(record.sparse.indices.tolist(), record.sparse.values.tolist(), strict=True)
                total += sum(weights.get(index, 0.0) * value for index, value in pairs)
            scored.append(Match(record, total))
        scored.sort(key=lambda match: (-match.score, match.record.id.encode()))
        return scored[:top_k]

    def fetch(self, namespace: str, ids: list[str]) -> dict[str, VectorRow]:
        if not ids:
            return {}
        with self._db.transaction() as conn:
            rows = self._execute(
                conn,
                "SELECT id, embedding, sparse, metadata FROM {t} WHERE namespace = %s AND id = ANY(%s)",
                (namespace, ids),
            ).fetchall()
        return {row[0]: _row(row) for row in rows}

    def _get(
        self, conn: psycopg.Connection[Any], namespace: str, vector_id: str, *, lock: bool = False
    ) -> VectorRow | None:
        suffix = " FOR UPDATE" if lock else ""
        row = self._execute(
            conn,
            "SELECT id, embedding, sparse, metadata FROM {t} WHERE namespace = %s AND id = %s" + suffix,
            (namespace, vector_id),
        ).fetchone()
        return None if row is None else _row(row)

    def list_ids(
        self, namespace: str, prefix: str, limit: int, token: str | None
    ) -> tuple[list[str], str | None]:
        """Ids in byte order after the pagination token, and the next token when more remain."""
        after = decode_token(token)
        with self._db.transaction() as conn:
            rows = self._execute(
                conn,
                "SELECT id FROM {t} WHERE namespace = %s AND starts_with(id, %s) "
                "AND (%s::text IS NULL OR id > %s) ORDER BY id LIMIT %s",
                (namespace, prefix, after, after, limit + 1),
            ).fetchall()
        ids = [row[0] for row in rows]
        page = ids[:limit]
        return page, encode_token(page[-1]) if len(ids) > limit else None

    def size(self, namespace: str) -> int:
        with self._db.transaction() as conn:
            row = self._execute(
                conn, "SELECT count(*) FROM {t} WHERE namespace = %s", (namespace,)
            ).fetchone()
        return int(row[0]) if row else 0

    def namespace_counts(self, predicate: Predicate | None = None) -> dict[str, int]:
        condition = sql.SQL("TRUE") if predicate is None else _condition(predicate)
        with self._db.transaction() as conn:
            rows = self._execute(
                conn,
                "SELECT namespace, count(*) FILTER (WHERE {condition}) FROM {t} GROUP BY namespace",
                condition=condition,
            ).fetchall()
        return {row[0]: int(row[1]) for row in rows}

    def __iter__(self) -> Iterator[str]:
        with self._db.transaction() as conn:
            rows = self._execute(conn, "SELECT DISTINCT namespace FROM {t}").fetchall()
        return iter([row[0] for row in rows])

    def disk_bytes(self) -> int:
        with self._db.transaction() as conn:
            return table_bytes(conn, self.config.name)

    def maintain(self, chunk: int = 1024) -> bool:
        """Build the HNSW graph once the index holds ``min_vectors`` rows (then PostgreSQL keeps it).

        Below that, search is an exact scan and a bulk load runs at COPY speed: every row inserted into
        an HNSW graph costs a graph insertion (about 500 rows/s at 384 dimensions on two cores, against
        10,000 without). Building the graph takes a lock that holds writes until it is done."""
        if self._has_graph or time.monotonic() < self._next_check:
            return False
        self._next_check = time.monotonic() + _GRAPH_CHECK_SECONDS
        with self._db.transaction() as conn:
            exists = conn.execute(
                "SELECT to_regclass(%s) IS NOT NULL", (table_name(self.config.name) + "_hnsw",)
            )
            found = exists.fetchone()
            if found is not None and found[0]:
                self._has_graph = True
                return False
            counted = self._execute(
                conn, "SELECT count(*) FROM (SELECT 1 FROM {t} LIMIT %s) AS rows", (self._min_vectors,)
            ).fetchone()
            if counted is None or counted[0] < self._min_vectors:
                return False
            # At least 256MB, and never less than the server was given: a graph that outgrows this
            # memory goes on building far slower, so an operator loading millions of rows raises it.
            self._execute(
                conn,
                "SELECT set_config('maintenance_work_mem', greatest(pg_size_bytes(current_setting("
                "'maintenance_work_mem')), 256 * 1024 * 1024) / 1024 || 'kB', true)",
            )
            self._execute(
                conn,
                "CREATE INDEX IF NOT EXISTS {graph} ON {t} USING hnsw (embedding {opclass}) "
                "WITH (m = {m}, ef_construction = {ef})",
                graph=self._graph,
                opclass=sql.SQL(_OPCLASS[self.config.metric]),
                m=sql.Literal(self._graph_shape[0]),
                ef=sql.Literal(max(self._graph_shape[1], 2 * self._graph_shape[0])),
            )
            self._execute(conn, "ANALYZE {t}")  # so the planner knows the table is large enough for it
        self._has_graph = True
        return False

    def destroy(self) -> None:
        """Drop the index's table (its catalog entry is the registry's to remove)."""
        with self._db.transaction() as conn:
            self._execute(conn, "DROP TABLE IF EXISTS {t}")
            drop_namespaces_table(conn, self.config.name)

    def close(self) -> None:
        """The database is the storage's to close; an index holds no connection between operations."""


class PgVectorStorage:
    """Indexes as tables of one PostgreSQL database with the pgvector extension."""

    name: str = "pgvector"

    def __init__(self, db: Transactions, ann: AnnSettings | None = None) -> None:
        self._db = db
        self._ann = ann
        with db.transaction() as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")

    def open(self, config: IndexConfig) -> PgVectorIndex:
        return PgVectorIndex(config, self._db, self._ann)

    def clear(self, name: str) -> None:
        with self._db.transaction() as conn:
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {t}").format(t=sql.Identifier(table_name(name))))
            drop_namespaces_table(conn, name)


def _sparse_json(sparse: SparseValues | None) -> str | None:
    return None if sparse is None else json.dumps(sparse.as_dict())
