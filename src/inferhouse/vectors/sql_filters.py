"""A checked Pinecone filter as a PostgreSQL condition over a ``jsonb`` metadata column.

The condition means what ``filters.py``'s predicate means, record for record: a list-valued field
matches ``$eq``/``$in`` when an element does and ``$ne``/``$nin`` when none does; types never mix
(``jsonb`` keeps strings, numbers and booleans apart, and compares ``1`` and ``1.0`` as equal, as the
predicate does); range operators hold only for a field that is a number; a missing field matches only
``$ne``, ``$nin`` and ``$exists: false``. Every value and field name reaches SQL as a literal quoted by
psycopg, never as text spliced into the query.

The spec must have passed :func:`~inferhouse.vectors.filters.compile_filter`, which refuses anything
malformed or too large.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from psycopg import sql

# A record's metadata as the condition reads it: a record stored without metadata has none of its fields.
METADATA = sql.SQL("coalesce(metadata, '{}'::jsonb)")
_RANGE = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


def filter_condition(spec: Mapping[str, Any]) -> sql.Composed:
    """The condition a row's ``metadata`` must meet for ``spec``."""
    return _object(spec)


def _object(spec: Mapping[str, Any]) -> sql.Composed:
    parts = [_entry(key, value) for key, value in spec.items()]
    return _join(parts, "AND")


def _entry(key: str, value: Any) -> sql.Composed:
    if key in ("$and", "$or"):
        return _join([_object(clause) for clause in value], key[1:].upper())
    if isinstance(value, Mapping):
        return _join([_field(key, op, operand) for op, operand in value.items()], "AND")
    return _field(key, "$eq", value)


def _field(key: str, op: str, operand: Any) -> sql.Composed:
    if op == "$eq":
        return _equals(key, operand)
    if op == "$ne":
        return sql.Composed([sql.SQL("NOT "), _equals(key, operand)])
    if op in ("$in", "$nin"):
        any_of = (
            _join([_equals(key, item) for item in operand], "OR")
            if operand
            else sql.Composed([sql.SQL("FALSE")])
        )
        return any_of if op == "$in" else sql.Composed([sql.SQL("NOT "), any_of])
    if op == "$exists":
        present = sql.Composed([sql.SQL("("), METADATA, sql.SQL(" ? "), sql.Literal(key), sql.SQL(")")])
        return present if operand else sql.Composed([sql.SQL("NOT "), present])
    # A range: only a number compares; the CASE keeps the cast away from strings, lists and booleans.
    field = sql.Composed([METADATA, sql.SQL(" -> "), sql.Literal(key)])
    return sql.Composed(
        [
            sql.SQL("(CASE WHEN jsonb_typeof("),
            field,
            sql.SQL(") = 'number' THEN ("),
            field,
            sql.SQL(")::numeric "),
            sql.SQL(_RANGE[op]),
            sql.SQL(" "),
            sql.Literal(operand),
            sql.SQL(" ELSE FALSE END)"),
        ]
    )


def _equals(key: str, operand: Any) -> sql.Composed:
    """The field is ``operand``, or a list holding it (``@>`` takes both shapes, each as a document)."""
    alone = json.dumps({key: operand})
    in_list = json.dumps({key: [operand]})
    return sql.Composed(
        [
            sql.SQL("("),
            METADATA,
            sql.SQL(" @> "),
            sql.Literal(alone),
            sql.SQL("::jsonb OR "),
            METADATA,
            sql.SQL(" @> "),
            sql.Literal(in_list),
            sql.SQL("::jsonb)"),
        ]
    )


def _join(parts: list[sql.Composed], operator: str) -> sql.Composed:
    if not parts:
        return sql.Composed([sql.SQL("TRUE")])
    joined = sql.SQL(f" {operator} ").join(parts)
    return sql.Composed([sql.SQL("("), joined, sql.SQL(")")])
