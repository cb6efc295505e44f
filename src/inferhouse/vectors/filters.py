"""Pinecone's metadata filter language, compiled once into a predicate over a record's metadata.

Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $and $or``; a bare value means ``$eq`` and several
keys in one object are an AND. A list-valued field matches ``$eq``/``$in`` when any element does and
``$ne``/``$nin`` when none does. Types never mix: ``1`` does not equal ``"1"`` nor ``true``, and range
operators take numbers only. A record without the field matches only ``$ne``, ``$nin`` and
``$exists: false``.

A filter is bounded before it is compiled, so a hostile one costs a 400 and not a deep recursion or a
slow scan: at most :data:`MAX_FILTER_DEPTH` nested ``$and``/``$or`` levels and at most
:data:`MAX_FILTER_TERMS` terms (each clause object, field condition and listed ``$in``/``$nin`` value
counts one).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inferhouse.errors import InvalidFilter

Metadata = Mapping[str, Any]
Predicate = Callable[[Metadata], bool]

# Pinecone publishes no nesting limit; real filters nest two or three levels.
MAX_FILTER_DEPTH = 16
MAX_FILTER_TERMS = 20_000
_MISSING = object()
_RANGE: dict[str, Callable[[Any, Any], bool]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_scalar(value: object) -> bool:
    return isinstance(value, str | bool) or _is_number(value)


def _same(a: object, b: object) -> bool:
    """Equality that keeps types apart (in Python ``True == 1``; in a filter it must not)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    return type(a) is type(b) and a == b


def _elements(value: object) -> list[object]:
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True, slots=True)
class Filter:
    """A checked filter: its spec (which a database backend translates, see ``sql_filters.py``) and the
    predicate it compiles to (which the embedded backend runs on each record's metadata)."""

    spec: Mapping[str, Any]
    test: Predicate

    def __call__(self, metadata: Metadata) -> bool:
        return self.test(metadata)


def compile_filter(spec: object) -> Filter:
    """Parse ``spec`` and return it checked and compiled; raise :class:`InvalidFilter` (a 400) when
    malformed."""
    if not isinstance(spec, Mapping):
        raise InvalidFilter(f"filter must be an object, got {type(spec).__name__}")
    _check_bounds(spec)
    return Filter(spec, _compile_object(spec, "filter"))


def _check_bounds(spec: Mapping[str, Any]) -> None:
    """Count levels and terms without recursing, refusing as soon as a bound is passed."""
    terms = 0
    pending: list[tuple[Mapping[str, Any], int]] = [(spec, 0)]
    while pending:
        clause, depth = pending.pop()
        terms += 1
        for key, value in clause.items():
            if key in ("$and", "$or") and isinstance(value, list):
                if depth + 1 > MAX_FILTER_DEPTH:
                    raise InvalidFilter(f"filter nests $and/$or more than {MAX_FILTER_DEPTH} levels deep")
                pending.extend((item, depth + 1) for item in value if isinstance(item, Mapping))
                continue
            terms += 1
            if isinstance(value, Mapping):
                terms += sum(len(operand) for operand in value.values() if isinstance(operand, list))
        if terms > MAX_FILTER_TERMS:
            raise InvalidFilter(f"filter has more than {MAX_FILTER_TERMS} terms (clauses, fields, values)")


def _compile_object(spec: Mapping[str, Any], where: str) -> Predicate:
    if not spec:
        return lambda _metadata: True
    parts = [_compile_entry(key, value, f"{where}.{key}") for key, value in spec.items()]
    if len(parts) == 1:
        return parts[0]
    return lambda metadata: all(part(metadata) for part in parts)


def _compile_entry(key: str, value: Any, where: str) -> Predicate:
    if key in ("$and", "$or"):
        if not isinstance(value, list) or not value:
            raise InvalidFilter(f"{where} must be a non-empty list of filter objects")
        for position, clause in enumerate(value):
            if not isinstance(clause, Mapping):
                raise InvalidFilter(f"{where}[{position}] must be a filter object")
        clauses = [_compile_object(clause, f"{where}[{i}]") for i, clause in enumerate(value)]
        combine = all if key == "$and" else any
        return lambda metadata: combine(clause(metadata) for clause in clauses)
    if key.startswith("$"):
        raise InvalidFilter(f"{where}: unknown operator {key} at the top of a filter")
    if not key:
        raise InvalidFilter(f"{where}: field names cannot be empty")
    if isinstance(value, Mapping):
        if not value:
            raise InvalidFilter(f"{where} is an empty operator object")
        tests = [_field_test(op, operand, f"{where}.{op}") for op, operand in value.items()]
    else:
        tests = [_field_test("$eq", value, where)]
    return lambda metadata: all(test(metadata.get(key, _MISSING)) for test in tests)


def _field_test(op: str, operand: Any, where: str) -> Callable[[object], bool]:
    if op in ("$eq", "$ne"):
        if not _is_scalar(operand):
            raise InvalidFilter(f"{where} takes a string, number or boolean, got {_describe(operand)}")
        return _negated(_equals(operand), op == "$ne")
    if op in _RANGE:
        if not _is_number(operand):
            raise InvalidFilter(f"{where} takes a number, got {_describe(operand)}")
        compare = _RANGE[op]
        return lambda value: _is_number(value) and bool(compare(value, operand))
    if op in ("$in", "$nin"):
        if not isinstance(operand, list) or not all(_is_scalar(item) for item in operand):
            raise InvalidFilter(f"{where} takes a list of strings, numbers or booleans")
        return _negated(_member_of(operand), op == "$nin")
    if op == "$exists":
        if not isinstance(operand, bool):
            raise InvalidFilter(f"{where} takes true or false, got {_describe(operand)}")
        return lambda value: (value is not _MISSING) == operand
    raise InvalidFilter(f"{where}: unknown operator {op}")


def _equals(operand: object) -> Callable[[object], bool]:
    def test(value: object) -> bool:
        return value is not _MISSING and any(_same(element, operand) for element in _elements(value))

    return test


def _member_of(operands: list[object]) -> Callable[[object], bool]:
    # One set per type, so a long $in costs a lookup per element and types still never mix.
    booleans = {item for item in operands if isinstance(item, bool)}
    numbers = {item for item in operands if _is_number(item)}
    strings = {item for item in operands if isinstance(item, str)}

    def contains(element: object) -> bool:
        if isinstance(element, bool):
            return element in booleans
        if _is_number(element):
            return element in numbers
        return isinstance(element, str) and element in strings

    def test(value: object) -> bool:
        return value is not _MISSING and any(contains(element) for element in _elements(value))

    return test


def _negated(test: Callable[[object], bool], negate: bool) -> Callable[[object], bool]:
    return (lambda value: not test(value)) if negate else test


def _describe(value: object) -> str:
    if value is None:
        return "null"
    return type(value).__name__
