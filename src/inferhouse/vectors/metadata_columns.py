"""A namespace's metadata held column-wise, so a filter is a few numpy operations over all rows at once.

Each field is a column over the namespace's rows: a kind per row (missing, number, string, boolean, list
of strings, or *odd*) and one float64 value (the number, the string's code in the namespace's string
dictionary, or 0/1 for a boolean). A list of strings lives in an entry table beside the column: one
entry per element, holding its row and its string code, so "any element equals" is one comparison over
the entries. What the columns cannot hold exactly (an integer beyond float64's 53 bits, NaN, a list of
non-strings, any other type; none of these passes the API's validation) is kept as the value itself in
``odd``, and each filter test asks the filter language about those rows one by one, so the answers stay
exactly those of :mod:`inferhouse.vectors.filters`.

Rows move as the namespace's do: :meth:`MetadataColumns.remove_row` frees a row by moving the last row
into it. Evaluating a filter is ``column_filters.py``'s.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

MISSING, NUMBER, STRING, BOOLEAN, LIST, ODD = range(6)
# Filter masks kept per namespace: up to 16, fewer past two million rows (a byte a row each).
_CACHED_MASKS = 16
_CACHED_MASK_BYTES = 32 << 20
_NO_FIELDS: Mapping[str, Any] = {}
_ABSENT = object()
_is_absent = functools.partial(operator.is_, _ABSENT)  # by identity: a value's own == may do anything
_EXACT_INTEGERS = 2**53  # every integer of at most this size is a float64 exactly


def _grown(array: npt.NDArray[Any], capacity: int) -> npt.NDArray[Any]:
    wider = np.zeros(capacity, dtype=array.dtype)
    wider[: len(array)] = array
    return wider


class ListEntries:
    """The elements of one field's list values: entry ``e`` is element code ``codes[e]`` of row
    ``rows[e]`` (-1 once that row's list was replaced or deleted). A row's elements are contiguous."""

    def __init__(self) -> None:
        self.rows = np.zeros(16, dtype=np.int64)
        self.codes = np.zeros(16, dtype=np.int64)
        self.count = 0
        self.dead = 0
        self.spans: dict[int, tuple[int, int]] = {}

    def add(self, row: int, codes: Sequence[int]) -> None:
        end = self.count + len(codes)
        if end > len(self.rows):
            capacity = max(end, 2 * len(self.rows))
            self.rows, self.codes = _grown(self.rows, capacity), _grown(self.codes, capacity)
        self.rows[self.count : end] = row
        self.codes[self.count : end] = codes
        self.spans[row] = (self.count, end)
        self.count = end

    def retire(self, row: int) -> None:
        span = self.spans.pop(row, None)
        if span is not None:
            self.rows[span[0] : span[1]] = -1
            self.dead += span[1] - span[0]
            if self.dead > 1024 and self.dead > self.count - self.dead:
                self._compact()

    def relabel(self, old: int, new: int) -> None:
        span = self.spans.pop(old, None)
        if span is not None:
            self.rows[span[0] : span[1]] = new
            self.spans[new] = span

    def rows_with(self, codes: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Rows holding any of ``codes`` (with repeats; a retired entry's row is -1 and is dropped)."""
        live_codes, live_rows = self.codes[: self.count], self.rows[: self.count]
        hit = live_codes == codes[0] if len(codes) == 1 else np.isin(live_codes, codes)
        rows = live_rows[hit]
        return rows[rows >= 0]

    def _compact(self) -> None:
        keep = self.rows[: self.count] >= 0
        before = np.concatenate([[0], np.cumsum(keep)])
        self.rows = self.rows[: self.count][keep].copy()
        self.codes = self.codes[: self.count][keep].copy()
        self.count, self.dead = len(self.rows), 0
        self.spans = {row: (int(before[s]), int(before[e])) for row, (s, e) in self.spans.items()}


class FieldColumn:
    def __init__(self, capacity: int) -> None:
        self.kinds = np.zeros(capacity, dtype=np.int8)  # MISSING everywhere
        self.values = np.zeros(capacity, dtype=np.float64)
        self.lists = ListEntries()
        self.odd: dict[int, object] = {}

    def grow(self, capacity: int) -> None:
        self.kinds, self.values = _grown(self.kinds, capacity), _grown(self.values, capacity)

    def clear(self, row: int) -> None:
        if self.kinds[row] == LIST:
            self.lists.retire(row)
        elif self.kinds[row] == ODD:
            self.odd.pop(row, None)
        self.kinds[row] = MISSING

    def move(self, source: int, target: int) -> None:
        """Row ``source`` becomes row ``target`` (whose own value was cleared)."""
        kind = self.kinds[source]
        self.kinds[target], self.values[target] = kind, self.values[source]
        if kind == LIST:
            self.lists.relabel(source, target)
        elif kind == ODD:
            self.odd[target] = self.odd.pop(source)
        self.kinds[source] = MISSING

    def fill(self, rows: Sequence[int], values: Sequence[object], strings: dict[str, int]) -> None:
        """Set the (cleared) ``rows`` to ``values``, each row once."""
        if self._fill_uniform(rows, values, strings):
            return
        kinds: list[int] = []
        numbers: list[float] = []
        for row, value in zip(rows, values, strict=True):
            kind, number = _encoded(value, strings)
            kinds.append(kind)
            numbers.append(number)
            if kind == LIST:
                self.lists.add(row, [strings.setdefault(item, len(strings)) for item in value])  # type: ignore[attr-defined]
            elif kind == ODD:
                self.odd[row] = value
        self.kinds[rows] = kinds
        self.values[rows] = numbers

    def _fill_uniform(self, rows: Sequence[int], values: Sequence[object], strings: dict[str, int]) -> bool:
        """:meth:`fill` for the common columns, all numbers or all strings, a batch at a time (loading a
        million rows at start-up); False, having changed nothing, for any other mix."""
        types = set(map(type, values))
        if types == {str}:
            self.kinds[rows] = STRING
            self.values[rows] = [strings.setdefault(value, len(strings)) for value in values]  # type: ignore[arg-type]
            return True
        if not types or not types <= {int, float}:
            return False
        if int in types:
            whole: list[int] = [value for value in values if type(value) is int]
            if min(whole) < -_EXACT_INTEGERS or max(whole) > _EXACT_INTEGERS:
                return False
        numbers = np.asarray(values, dtype=np.float64)
        if np.isnan(numbers).any():  # NaN is odd: it equals nothing, itself included
            return False
        self.kinds[rows] = NUMBER
        self.values[rows] = numbers
        return True


def _encoded(value: object, strings: dict[str, int]) -> tuple[int, float]:
    kind = type(value)
    if kind is str:
        return STRING, float(strings.setdefault(value, len(strings)))  # type: ignore[arg-type]
    if kind is bool:
        return BOOLEAN, float(value)  # type: ignore[arg-type]
    if kind is int and -_EXACT_INTEGERS <= value <= _EXACT_INTEGERS:  # type: ignore[operator]
        return NUMBER, float(value)  # type: ignore[arg-type]
    if kind is float and value == value:  # NaN equals nothing, itself included, as a set would not say
        return NUMBER, value  # type: ignore[return-value]
    if kind is list and all(type(item) is str for item in value):  # type: ignore[attr-defined]
        return LIST, 0.0
    return ODD, 0.0


class MetadataColumns:
    """The columns of one namespace, row for row with its metadata list."""

    def __init__(self) -> None:
        self.fields: dict[str, FieldColumn] = {}
        self.strings: dict[str, int] = {}
        self.length = 0
        self._capacity = 16
        # Filter masks over the current rows, least recently used first; any change of a row drops them.
        self.masks: dict[str, npt.NDArray[np.bool_]] = {}

    def remember_mask(self, key: str, mask: npt.NDArray[np.bool_]) -> None:
        self.masks.pop(key, None)
        kept = min(_CACHED_MASKS, max(2, _CACHED_MASK_BYTES // max(self.length, 1)))
        while self.masks and len(self.masks) >= kept:
            del self.masks[next(iter(self.masks))]
        self.masks[key] = mask

    def __len__(self) -> int:
        return self.length

    def assign(self, rows: Sequence[int], metadata: Sequence[Mapping[str, Any] | None]) -> None:
        """Rows take these metadata: existing rows are overwritten, rows past the end appended (each row
        once, and appended rows continue the end without a gap)."""
        if not rows:
            return
        self.masks.clear()
        end = max(max(rows) + 1, self.length)
        self._reserve(end)
        # Appending (the loading case) clears nothing: every row is past the end.
        appended = isinstance(rows, range) and rows.step > 0 and rows.start >= self.length
        for row in () if appended else rows:
            if row < self.length:
                for column in self.fields.values():
                    column.clear(row)
        self.length = end
        records = [record or _NO_FIELDS for record in metadata]
        rows = list(rows)
        for key in dict.fromkeys(itertools.chain.from_iterable(records)):  # each record's keys, in order
            values = [record.get(key, _ABSENT) for record in records]
            field_rows: Sequence[int] = rows
            if any(map(_is_absent, values)):  # only some rows have the field
                field_rows = [row for row, value in zip(rows, values, strict=True) if value is not _ABSENT]
                values = [value for value in values if value is not _ABSENT]
            if key not in self.fields:
                self.fields[key] = FieldColumn(self._capacity)
            self.fields[key].fill(field_rows, values, self.strings)

    def append(self, metadata: Sequence[Mapping[str, Any] | None]) -> None:
        self.assign(range(self.length, self.length + len(metadata)), metadata)

    def remove_row(self, row: int) -> None:
        """Free ``row`` as the namespace does: the last row moves into it."""
        self.masks.clear()
        last = self.length - 1
        for column in self.fields.values():
            column.clear(row)
            if row != last:
                column.move(last, row)
        self.length = last

    def _reserve(self, rows: int) -> None:
        if rows <= self._capacity:
            return
        self._capacity = max(rows, 2 * self._capacity)
        for column in self.fields.values():
            column.grow(self._capacity)
