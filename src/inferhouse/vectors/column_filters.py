"""A checked Pinecone filter evaluated over a namespace's metadata columns: a boolean mask over its rows,
computed with numpy, never by testing rows one at a time.

The mask means what :mod:`inferhouse.vectors.filters`' predicate means, row for row (the property tests
hold the two against each other): a list matches ``$eq``/``$in`` when an element does, types never mix
(``1`` is not ``"1"`` nor ``true``), ranges hold only for numbers, and a missing field matches only
``$ne``, ``$nin`` and ``$exists: false``. Each test computes its positive form (equal, member, in range,
present) exactly, odd values included, and ``$ne``/``$nin`` are its negation, so a missing field and a
list fall out of the same rule as the predicate's.

The spec must have passed :func:`~inferhouse.vectors.filters.compile_filter`.

The columns keep the masks of the last few filters asked, until their rows next change: a filter that
repeats (a tenant, a category) then costs a dictionary lookup instead of a pass over every row (about
0.2 ms at a million rows, a sixth of a filtered query's time in the index).
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.metadata_columns import BOOLEAN, MISSING, NUMBER, STRING, FieldColumn, MetadataColumns

Mask = npt.NDArray[np.bool_]
_FLOAT_MAX = float(np.finfo(np.float64).max)
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}


def filter_mask(columns: MetadataColumns, spec: Mapping[str, Any]) -> Mask:
    """The rows of ``columns`` that ``spec`` keeps, read-only (it may be the cached mask)."""
    # repr tells apart what the filter language does (1, 1.0 and True; key order only costs a miss).
    key = repr(spec)
    cached = columns.masks.get(key)
    if cached is None:
        cached = _Evaluation(columns).clause(spec)
        cached.flags.writeable = False
    columns.remember_mask(key, cached)
    return cached


class _Evaluation:
    def __init__(self, columns: MetadataColumns) -> None:
        self.columns = columns
        self.rows = len(columns)

    def clause(self, spec: Mapping[str, Any]) -> Mask:
        mask: Mask | None = None
        for key, value in spec.items():
            part = self.entry(key, value)
            mask = part if mask is None else np.logical_and(mask, part, out=mask)
        return np.ones(self.rows, dtype=bool) if mask is None else mask

    def entry(self, key: str, value: Any) -> Mask:
        if key in ("$and", "$or"):
            combine = np.logical_and if key == "$and" else np.logical_or
            combined = self.clause(value[0])
            for clause in value[1:]:
                combine(combined, self.clause(clause), out=combined)
            return combined
        tests = value.items() if isinstance(value, Mapping) else [("$eq", value)]
        mask: Mask | None = None
        for op, operand in tests:
            part = self.field(key, op, operand)
            mask = part if mask is None else np.logical_and(mask, part, out=mask)
        assert mask is not None  # compile_filter refuses an empty operator object
        return mask

    def field(self, key: str, op: str, operand: Any) -> Mask:
        column = self.columns.fields.get(key)
        if op == "$exists":
            present = self._none() if column is None else column.kinds[: self.rows] != MISSING
            return present if operand else ~present
        if column is None:  # a field no row has: nothing equals, nothing is in range
            return ~self._none() if op in ("$ne", "$nin") else self._none()
        if op in ("$eq", "$ne"):
            found = self._fix_odd(column, key, "$eq", operand, self._equal(column, operand))
            return ~found if op == "$ne" else found
        if op in ("$in", "$nin"):
            found = self._fix_odd(column, key, "$in", operand, self._member(column, operand))
            return ~found if op == "$nin" else found
        return self._fix_odd(column, key, op, operand, self._in_range(column, op, operand))

    def _none(self) -> Mask:
        return np.zeros(self.rows, dtype=bool)

    def _equal(self, column: FieldColumn, operand: object) -> Mask:
        kinds, values = column.kinds[: self.rows], column.values[: self.rows]
        if isinstance(operand, bool):
            return _kind_and(kinds, BOOLEAN, values == float(operand))
        if isinstance(operand, str):
            code = self.columns.strings.get(operand)
            if code is None:
                return self._none()
            mask = _kind_and(kinds, STRING, values == code)
            mask[column.lists.rows_with(np.asarray([code], dtype=np.int64))] = True
            return mask
        exact = _exact_float(operand)
        if exact is None:  # no float64 equals it; only an odd value can
            return self._none()
        return _kind_and(kinds, NUMBER, values == exact)

    def _member(self, column: FieldColumn, operands: list[object]) -> Mask:
        kinds, values = column.kinds[: self.rows], column.values[: self.rows]
        mask = self._none()
        booleans = [float(item) for item in operands if isinstance(item, bool)]
        if booleans:
            mask |= (kinds == BOOLEAN) & np.isin(values, booleans)
        exacts = [_exact_float(item) for item in operands if not isinstance(item, bool | str)]
        numbers = [exact for exact in exacts if exact is not None]
        if numbers:
            mask |= (kinds == NUMBER) & np.isin(values, numbers)
        known = self.columns.strings
        codes = np.asarray(
            [known[item] for item in operands if isinstance(item, str) and item in known], dtype=np.int64
        )
        if len(codes):
            mask |= (kinds == STRING) & np.isin(values, codes)
            mask[column.lists.rows_with(codes)] = True
        return mask

    def _in_range(self, column: FieldColumn, op: str, operand: int | float) -> Mask:
        kinds, values = column.kinds[: self.rows], column.values[: self.rows]
        exact = _exact_float(operand)
        if exact is not None:
            return _kind_and(kinds, NUMBER, _COMPARE[op](values, exact))
        if not isinstance(operand, int):  # NaN: no comparison with it holds
            return self._none()
        # An integer between two float64s (or past the largest): a float is above it exactly when it is
        # at least the float just above, below it when at most the float just below.
        low, high = _floats_around(int(operand))
        if op in ("$gt", "$gte"):
            return _kind_and(kinds, NUMBER, values >= high)
        return _kind_and(kinds, NUMBER, values <= low)

    def _fix_odd(self, column: FieldColumn, key: str, op: str, operand: object, mask: Mask) -> Mask:
        """Decide the rows holding values the columns cannot encode with the filter language itself."""
        if column.odd:
            test = compile_filter({key: {op: operand}}).test
            for row, value in column.odd.items():
                if row < self.rows:
                    mask[row] = test({key: value})
        return mask


def _kind_and(kinds: npt.NDArray[np.int8], kind: int, test: Mask) -> Mask:
    """Rows of ``kind`` where ``test`` holds (a value of another kind may compare equal as a number)."""
    mask: Mask = (kinds == kind) & test
    return mask


def _exact_float(number: object) -> float | None:
    """``number`` as the float64 that equals it exactly, or None when there is none."""
    try:
        as_float = float(number)  # type: ignore[arg-type]
    except OverflowError:
        return None
    return as_float if as_float == number else None


def _floats_around(number: int) -> tuple[float, float]:
    """The float64s just below and just above an integer no float64 equals."""
    try:
        nearest = float(number)
    except OverflowError:
        return (_FLOAT_MAX, math.inf) if number > 0 else (-math.inf, -_FLOAT_MAX)
    if nearest > number:
        return math.nextafter(nearest, -math.inf), nearest
    return nearest, math.nextafter(nearest, math.inf)
