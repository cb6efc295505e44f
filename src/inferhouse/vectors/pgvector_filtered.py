"""Filtered search on the pgvector backend: a metadata index for selective filters, pgvector's iterative
HNSW scans for unselective ones, PostgreSQL's planner choosing between them.

- **GIN on the metadata** (``jsonb_path_ops`` over ``coalesce(metadata, '{}')``, the expression
  ``sql_filters.py`` writes every equality and ``$in`` as): a selective ``$eq``/``$in`` finds its rows
  through the index and PostgreSQL ranks only those exactly. Ranges, ``$ne``/``$nin`` and ``$exists``
  cannot use it; the planner then scans.
- **Iterative index scans** (pgvector 0.8+): with ``hnsw.iterative_scan = strict_order`` an HNSW scan
  that the filter thins out goes on through the graph, in distance order, until ``top_k`` rows pass or
  ``hnsw.max_scan_tuples`` rows were visited; without it a filtered graph scan stops after
  ``ef_search`` candidates and returns too few.

PostgreSQL picks the plan from its statistics (the GIN expression index gives the metadata expression
statistics of its own once the table is analyzed). When the graph scan gives up short of ``top_k``
(the filter matches few rows, or none near the query), the query runs again exactly, with index scans
off: the metadata index's bitmap scan, or a table scan, and an exact sort. So the result holds
``top_k`` rows whenever that many match.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

Execute = Callable[..., psycopg.Cursor[Any]]
# Graph rows an iterative scan may visit before it gives up (pgvector's default is 20,000). A filter that
# keeps 1% needs about 100 x top_k visits; past this the exact plan is the cheaper one anyway.
MAX_SCAN_TUPLES = 50_000
# Below this estimated share of the table the filter is answered exactly: at 200,000 rows an iterative
# scan for a filter keeping 1% recalled 0.868 of the exact top 10, one keeping 10% 0.992.
GRAPH_MIN_SHARE = 0.05
EF_SEARCH_LIMIT = 1000  # pgvector refuses more; an iterative scan goes on past it for a larger top_k


def metadata_index_name(table: str) -> str:
    return table + "_meta"


def create_metadata_index(execute: Execute, conn: psycopg.Connection[Any], table: str) -> None:
    """The GIN index the filter conditions' containment tests use (created once per table)."""
    execute(
        conn,
        "CREATE INDEX IF NOT EXISTS {index} ON {t} USING gin ((coalesce(metadata, '{{}}'::jsonb)) "
        "jsonb_path_ops)",
        index=sql.Identifier(metadata_index_name(table)),
    )


def filtered_rows(
    execute: Execute,
    conn: psycopg.Connection[Any],
    statement: str,
    params: Mapping[str, Any],
    parts: Mapping[str, sql.Composable],
    top_k: int,
    ef_search: int,
) -> list[Any]:
    """Run the filtered top-k ``statement``: exactly when PostgreSQL estimates the filter keeps under
    :data:`GRAPH_MIN_SHARE` of the table, else letting it search the graph iteratively, and again
    exactly if the graph returned fewer than ``top_k`` rows."""
    if _estimated_share(execute, conn, params, parts) < GRAPH_MIN_SHARE:
        execute(conn, "SET LOCAL enable_indexscan = off")  # bitmap scans (the metadata index) stay on
        return execute(conn, statement, params, tie_break=sql.SQL(", id"), **parts).fetchall()
    # Twice the unfiltered search width: at ef_search 100 a filter keeping 10% recalled 0.948 of the exact
    # filtered top 10 (30,000 rows), at 200 0.974 (benchmarks/README.md, "filtered search").
    execute(conn, f"SET LOCAL hnsw.ef_search = {min(max(2 * ef_search, 2 * top_k), EF_SEARCH_LIMIT)}")
    execute(conn, "SET LOCAL hnsw.iterative_scan = strict_order")
    execute(conn, f"SET LOCAL hnsw.max_scan_tuples = {max(MAX_SCAN_TUPLES, 20 * top_k)}")
    rows: list[Any] = execute(conn, statement, params, tie_break=sql.SQL(""), **parts).fetchall()
    if len(rows) >= top_k:
        return rows
    execute(conn, "SET LOCAL enable_indexscan = off")  # bitmap scans (the metadata index) stay on
    return execute(conn, statement, params, tie_break=sql.SQL(", id"), **parts).fetchall()


def _estimated_share(
    execute: Execute, conn: psycopg.Connection[Any], params: Mapping[str, Any], parts: Mapping[str, Any]
) -> float:
    """The planner's estimate of the share of the table the filter keeps (statistics only, no scan)."""
    kept = _estimated_rows(execute, conn, "WHERE namespace = %(namespace)s AND {condition}", params, parts)
    total = _estimated_rows(execute, conn, "", params, parts)
    return kept / total if total > 0 else 0.0


def _estimated_rows(
    execute: Execute, conn: psycopg.Connection[Any], where: str, params: Mapping[str, Any], parts: Any
) -> float:
    plan = execute(
        conn, "EXPLAIN (FORMAT JSON) SELECT 1 FROM {t} " + where, params, condition=parts["condition"]
    ).fetchone()
    return float(plan[0][0]["Plan"]["Plan Rows"]) if plan else 0.0
