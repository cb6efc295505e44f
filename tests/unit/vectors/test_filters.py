"""The filter language against a brute-force reference written independently, on random data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferhouse.errors import InvalidFilter
from inferhouse.vectors.filters import MAX_FILTER_DEPTH, MAX_FILTER_TERMS, compile_filter

FIELDS = ["genre", "year", "score", "flag", "tags"]
strings = st.sampled_from(["drama", "comedy", "news", "1"])
numbers = st.integers(-3, 3) | st.sampled_from([0.5, 1.0, 2.5])
scalars = strings | numbers | st.booleans()
values = scalars | st.lists(strings, max_size=3)
records = st.lists(st.dictionaries(st.sampled_from(FIELDS), values, max_size=4), min_size=1, max_size=25)

MISSING = object()


def same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, str) or isinstance(b, str):
        return type(a) is type(b) and a == b
    return bool(a == b)


def check(op: str, operand: Any, value: Any, elements: list[Any]) -> bool:
    present = value is not MISSING
    numeric = present and isinstance(value, int | float) and not isinstance(value, bool)
    if op in ("$eq", "$ne"):
        equal = present and any(same(e, operand) for e in elements)
        return equal if op == "$eq" else not equal
    if op in ("$in", "$nin"):
        member = present and any(same(e, o) for e in elements for o in operand)
        return member if op == "$in" else not member
    if op == "$exists":
        return bool(present == operand)
    if not numeric:
        return False
    return {
        "$gt": value > operand,
        "$gte": value >= operand,
        "$lt": value < operand,
        "$lte": value <= operand,
    }[op]


def reference(metadata: dict[str, Any], spec: dict[str, Any]) -> bool:
    """Written from the documented semantics, not from the implementation."""
    for key, condition in spec.items():
        if key == "$and":
            if not all(reference(metadata, clause) for clause in condition):
                return False
            continue
        if key == "$or":
            if not any(reference(metadata, clause) for clause in condition):
                return False
            continue
        ops = condition if isinstance(condition, dict) else {"$eq": condition}
        value = metadata.get(key, MISSING)
        elements = value if isinstance(value, list) else [value]
        for op, operand in ops.items():
            if not check(op, operand, value, elements):
                return False
    return True


def field_condition() -> st.SearchStrategy[Any]:
    return (
        scalars
        | st.builds(lambda op, v: {op: v}, st.sampled_from(["$eq", "$ne"]), scalars)
        | st.builds(lambda op, v: {op: v}, st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), numbers)
        | st.builds(lambda op, v: {op: v}, st.sampled_from(["$in", "$nin"]), st.lists(scalars, max_size=3))
        | st.builds(lambda v: {"$exists": v}, st.booleans())
    )


leaf = st.dictionaries(st.sampled_from(FIELDS), field_condition(), min_size=1, max_size=2)
filters = st.recursive(
    leaf,
    lambda inner: st.builds(
        lambda op, clauses: {op: clauses},
        st.sampled_from(["$and", "$or"]),
        st.lists(inner, min_size=1, max_size=3),
    ),
    max_leaves=6,
)


@settings(max_examples=400)
@given(records, filters)
def test_matches_the_reference(data: list[dict[str, Any]], spec: dict[str, Any]) -> None:
    predicate = compile_filter(spec)
    assert [predicate(m) for m in data] == [reference(m, spec) for m in data]


def test_type_rules() -> None:
    assert not compile_filter({"year": "2020"})({"year": 2020})
    assert not compile_filter({"flag": 1})({"flag": True})
    assert compile_filter({"score": 1})({"score": 1.0})
    assert not compile_filter({"genre": {"$gt": 1}})({"genre": "drama"})
    assert compile_filter({"tags": "b"})({"tags": ["a", "b"]})
    assert compile_filter({"tags": {"$nin": ["c"]}})({"tags": ["a", "b"]})
    assert compile_filter({"missing": {"$ne": 1}})({})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "filter must be an object"),
        ({"$foo": 1}, "unknown operator $foo"),
        ({"a": {"$regex": "x"}}, "unknown operator $regex"),
        ({"a": {"$in": "x"}}, "takes a list"),
        ({"a": {"$gt": "x"}}, "takes a number"),
        ({"a": {"$eq": None}}, "got null"),
        ({"a": {"$eq": {"b": 1}}}, "takes a string, number or boolean"),
        ({"a": {"$exists": 1}}, "takes true or false"),
        ({"$and": {}}, "non-empty list"),
        ({"$or": [1]}, "must be a filter object"),
        ({"a": {}}, "empty operator object"),
    ],
)
def test_malformed_filters_say_where(spec: Any, message: str) -> None:
    with pytest.raises(InvalidFilter, match=message.replace("$", r"\$")):
        compile_filter(spec)


def _nested(levels: int, operator: str = "$and") -> dict[str, Any]:
    spec: dict[str, Any] = {"genre": "drama"}
    for _ in range(levels):
        spec = {operator: [spec]}
    return spec


def test_nesting_is_bounded() -> None:
    deepest = compile_filter(_nested(MAX_FILTER_DEPTH, "$or"))
    assert deepest({"genre": "drama"})
    assert not deepest({"genre": "comedy"})
    for levels in (MAX_FILTER_DEPTH + 1, 238, 5000):
        with pytest.raises(InvalidFilter, match=f"more than {MAX_FILTER_DEPTH} levels"):
            compile_filter(_nested(levels))


def test_size_is_bounded() -> None:
    wide = compile_filter({"n": {"$in": list(range(MAX_FILTER_TERMS - 2))}})
    assert wide({"n": 7})
    assert not wide({"n": -1})
    with pytest.raises(InvalidFilter, match=f"more than {MAX_FILTER_TERMS} terms"):
        compile_filter({"n": {"$in": list(range(MAX_FILTER_TERMS))}})
    with pytest.raises(InvalidFilter, match=f"more than {MAX_FILTER_TERMS} terms"):
        compile_filter({"$or": [{"n": i} for i in range(MAX_FILTER_TERMS)]})


def test_membership_keeps_types_apart() -> None:
    assert not compile_filter({"flag": {"$in": [1, "true"]}})({"flag": True})
    assert compile_filter({"flag": {"$in": [True]}})({"flag": True})
    assert not compile_filter({"n": {"$in": [True, "1"]}})({"n": 1})
    assert compile_filter({"n": {"$in": [1.0]}})({"n": 1})
    assert compile_filter({"tags": {"$nin": ["c", 2]}})({"tags": ["a", "b"]})
    assert not compile_filter({"tags": {"$nin": ["b"]}})({"tags": ["a", "b"]})
