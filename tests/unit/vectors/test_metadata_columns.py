"""The column-wise filter mask against the filter language's own predicate, row by row, on Hypothesis-drawn
metadata and filters, through writes, overwrites and deletes that move rows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferhouse.vectors import metadata_columns
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.namespace import Namespace
from inferhouse.vectors.rows import RowBatch

FIELDS = ["genre", "year", "score", "flag", "tags"]
BIG = 2**53 + 1  # no float64 equals it
strings = st.sampled_from(["drama", "comedy", "news", "1", ""])
# Numbers at float64's edges: 2**53 and BIG - 1 are floats exactly, BIG (between them) is not.
# (BIG + 2 rounds up to the float BIG + 3, BIG down to 2**53.)
EDGES = [
    0,
    1,
    -0.0,
    0.5,
    2.5,
    2**53,
    BIG,
    BIG + 1,
    BIG + 2,
    BIG + 3,
    float(BIG + 3),
    -BIG,
    2**60,
    10**400,
    -(10**400),
    math.inf,
]
numbers = st.integers(-3, 3) | st.sampled_from(EDGES) | st.floats(-4, 4, allow_nan=False)
scalars = strings | numbers | st.booleans()
# What the API accepts, plus what only an embedding caller could store (NaN, lists of non-strings).
odd = st.sampled_from([math.nan, [1, 2], ["drama", 3], [True]])
values = scalars | st.lists(strings, max_size=3) | odd
metadata = st.none() | st.dictionaries(st.sampled_from(FIELDS), values, max_size=4)
operands = st.sampled_from(["drama", "comedy", "nope", "1", 1.0, True, False, *EDGES])
numeric = st.sampled_from([-1, 3, *EDGES, math.nan])


def _field_condition() -> st.SearchStrategy[Any]:
    single = st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne"]), operands),
        st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), numeric),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(operands, max_size=4)),
        st.tuples(st.just("$exists"), st.booleans()),
    )
    ops = st.lists(single, min_size=1, max_size=2).map(dict)
    return operands | ops


fields = st.dictionaries(st.sampled_from(FIELDS), _field_condition(), max_size=2)
filters = st.recursive(
    fields,
    lambda inner: st.one_of(
        st.builds(
            lambda op, items: {op: items},
            st.sampled_from(["$and", "$or"]),
            st.lists(inner, min_size=1, max_size=3),
        ),
        st.tuples(inner, fields).map(lambda pair: {**pair[1], "$and": [pair[0]]}),
    ),
    max_leaves=6,
)


def _space(records: list[dict[str, Any] | None]) -> Namespace:
    space = Namespace(2)
    vectors = np.ones((len(records), 2), dtype=np.float32)
    if records:
        space.put(RowBatch([f"r{i}" for i in range(len(records))], vectors, [None] * len(records), records))
    return space


def _check(space: Namespace, spec: dict[str, Any]) -> None:
    keep = compile_filter(spec)
    mask = space.matching_rows(keep)
    expected = [keep.test(space.metadata_at(row) or {}) for row in range(len(space))]
    assert mask.tolist() == expected, spec


@settings(max_examples=300, deadline=None)
@given(st.lists(metadata, max_size=30), st.lists(filters, min_size=1, max_size=4))
def test_the_mask_is_the_predicate_row_by_row(records: list[dict[str, Any] | None], specs: list[Any]) -> None:
    space = _space(records)
    for spec in specs:
        _check(space, spec)


ids = st.sampled_from([f"v{i}" for i in range(12)])
upserts = st.tuples(st.just("upsert"), st.lists(st.tuples(ids, metadata), min_size=1, max_size=6))
bulk = st.tuples(st.just("bulk"), st.lists(metadata, min_size=1, max_size=6))
deletes = st.tuples(st.just("delete"), st.lists(ids, min_size=1, max_size=4))
checks = st.tuples(st.just("check"), filters)
patches = st.tuples(st.just("patch"), st.tuples(st.lists(ids, min_size=1, max_size=4), metadata))
# Asked after every step: each is answered from the cached mask until a write must drop it.
STANDING = ({"genre": {"$exists": True}}, {"tags": {"$nin": ["drama"]}}, {"year": {"$gte": 0}})


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(upserts, bulk, deletes, patches, checks), min_size=1, max_size=25))
def test_writes_overwrites_and_deletes_keep_the_columns_right(steps: list[tuple[str, Any]]) -> None:
    space = Namespace(2)
    fresh = 0
    for action, argument in steps:
        if action == "upsert":  # ids may repeat, within the batch and against stored rows
            batch_ids = [vector_id for vector_id, _ in argument]
            vectors = np.ones((len(argument), 2), dtype=np.float32)
            space.put(RowBatch(batch_ids, vectors, [None] * len(argument), [m for _, m in argument]))
        elif action == "bulk":  # all-new ids: the staged, column-appending path
            batch_ids = [f"new{fresh + i}" for i in range(len(argument))]
            fresh += len(argument)
            batch = RowBatch(
                batch_ids, np.ones((len(argument), 2), dtype=np.float32), [None] * len(argument), argument
            )
            space.commit(space.stage(batch), batch)
        elif action == "delete":
            space.remove(argument)
        elif action == "patch":  # update by filter: metadata merged into existing rows
            patch_ids, patch = argument
            space.set_metadata([space.rows[i] for i in patch_ids if i in space.rows], patch or {"genre": "x"})
        else:
            _check(space, argument)
        assert len(space.columns) == len(space.ids)
        for spec in STANDING:
            _check(space, spec)


@pytest.mark.parametrize(
    "column",
    [
        [3, -7, 2**53, -(2**53), 0],  # whole numbers float64 holds exactly: one numpy conversion
        [3, 2**53 + 1, 1.5],  # one beyond: row by row, so it stays exact (odd)
        [0.5, float("nan"), 2.0],  # NaN equals nothing: row by row
        ["a", "b", "a"],
        [True, 1, 1.0],  # a boolean among numbers is not a number
        [1, "1", ["1"]],
    ],
)
def test_a_batch_fills_each_column_as_row_by_row_would(column: list[Any]) -> None:
    space = Namespace(2)
    records = [{"f": value, "g": index} for index, value in enumerate(column)]
    batch = RowBatch(
        [f"r{i}" for i in range(len(records))],
        np.ones((len(records), 2), dtype=np.float32),
        [None] * len(records),
        records,
    )
    space.commit(space.stage(batch), batch)
    for value in [*column, 2**53 + 1, 1, "a", True]:
        if isinstance(value, list) or value != value:  # neither a list nor NaN is a filter operand
            continue
        _check(space, {"f": {"$eq": value}})
        _check(space, {"f": {"$ne": value}})
        if type(value) in (int, float):
            _check(space, {"f": {"$gte": value}})
            _check(space, {"f": {"$lt": value}})
    _check(space, {"f": {"$exists": True}, "g": {"$gte": 1}})


def test_a_repeated_filter_reuses_its_mask_until_a_row_changes() -> None:
    space = _space([{"genre": "drama"}, {"genre": "comedy"}, None])
    keep = compile_filter({"genre": "drama"})
    first = space.matching_rows(keep)
    assert not first.flags.writeable  # shared by every query that asks, so no caller may change it
    assert space.matching_rows(compile_filter({"genre": "drama"})) is first
    assert first.tolist() == [True, False, False]
    space.put(RowBatch(["r2"], np.ones((1, 2), dtype=np.float32), [None], [{"genre": "drama"}]))
    assert space.matching_rows(keep).tolist() == [True, False, True]
    space.set_metadata([0], {"genre": "comedy"})
    assert space.matching_rows(keep).tolist() == [False, False, True]
    space.remove(["r1"])
    assert space.matching_rows(keep).tolist() == [False, True]
    # 1 and True are different filters: neither answers for the other.
    flagged = _space([{"n": 1}, {"n": True}])
    assert flagged.matching_rows(compile_filter({"n": 1})).tolist() == [True, False]
    assert flagged.matching_rows(compile_filter({"n": True})).tolist() == [False, True]


def test_only_the_latest_masks_are_kept() -> None:
    space = _space([{"year": year} for year in range(40)])
    for year in range(40):
        space.matching_rows(compile_filter({"year": {"$gte": year}}))
    assert len(space.columns.masks) == 16
    assert repr({"year": {"$gte": 39}}) in space.columns.masks
    assert repr({"year": {"$gte": 0}}) not in space.columns.masks


def test_a_large_namespace_keeps_fewer_masks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metadata_columns, "_CACHED_MASK_BYTES", 40 * 4)  # four masks of these 40 rows
    space = _space([{"year": year} for year in range(40)])
    for year in range(10):
        space.matching_rows(compile_filter({"year": {"$gte": year}}))
    assert list(space.columns.masks) == [repr({"year": {"$gte": year}}) for year in range(6, 10)]


def test_list_entries_survive_compaction_after_many_deletes() -> None:
    records: list[dict[str, Any] | None] = [{"tags": [f"t{i % 7}", "all"]} for i in range(3000)]
    space = _space(records)
    space.remove([f"r{i}" for i in range(0, 3000, 3)] + [f"r{i}" for i in range(1, 3000, 3)])
    assert space.columns.fields["tags"].lists.dead < 1024  # compacted at least once
    for spec in ({"tags": "all"}, {"tags": {"$in": ["t3", "t5"]}}, {"tags": {"$ne": "t0"}}):
        _check(space, spec)
    assert int(space.matching_rows(compile_filter({"tags": "all"})).sum()) == 1000


def test_numbers_at_the_edges_of_float64_compare_exactly() -> None:
    space = _space([{"n": value} for value in EDGES] + [{"n": [str(value)]} for value in EDGES[:3]])
    for op in ("$eq", "$ne", "$gt", "$gte", "$lt", "$lte"):
        for operand in [*EDGES, -1, math.nan]:
            if op in ("$eq", "$ne") and isinstance(operand, float) and math.isnan(operand):
                continue
            _check(space, {"n": {op: operand}})
    for operand in EDGES:
        _check(space, {"n": {"$in": [operand, "1"]}})
        _check(space, {"n": {"$nin": [operand, True]}})


def test_odd_values_move_with_their_rows() -> None:
    records: list[dict[str, Any] | None] = [{"x": "drama"}, {"x": ["drama", 3]}, {"x": [True]}, {"x": BIG}]
    space = _space(records * 3)
    space.remove(["r0", "r1", "r4"])  # rows 9-11 move into the gaps
    for spec in ({"x": "drama"}, {"x": True}, {"x": BIG}, {"x": {"$nin": ["drama"]}}, {"x": {"$gt": 2**53}}):
        _check(space, spec)
