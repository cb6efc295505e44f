"""Pinecone bodies read into the index's values, with Pinecone's messages; the domain checks beneath."""

from __future__ import annotations

import numpy as np
import pytest

from inferhouse.api.pinecone.parsing import (
    MAX_FETCH_IDS,
    dense_values,
    id_list,
    namespace_name,
    sparse_values,
    upsert_records,
)
from inferhouse.errors import BadRequest
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.validation import check_sparse_query, finite_vector, sparse_vector


def test_the_default_namespace_has_two_names() -> None:
    assert namespace_name(None) == namespace_name("") == namespace_name("__default__") == ""
    assert namespace_name("docs") == "docs"
    with pytest.raises(BadRequest, match="namespace must be a string"):
        namespace_name(3)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("1,2", "Vector values must be a list of numbers"),
        ([1, True], "Vector values must be a list of numbers"),
        ([1.0], "Vector dimension 1 does not match the dimension of the index 2"),
        ([1.0, 1e39], "Vector values must be finite 32-bit floats"),
    ],
)
def test_dense_values_say_what_is_wrong_first(values: object, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        dense_values(values, 2)


def test_dense_values_become_float32() -> None:
    vector = dense_values([1, 2.5], 2)
    assert vector.dtype == np.float32
    assert vector.tolist() == [1.0, 2.5]
    assert finite_vector([3, 4]).tolist() == [3.0, 4.0]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1], "sparseValues must be an object with indices and values"),
        ({"indices": [1], "values": []}, "needs lists indices and values of the same length"),
        ({"indices": [-1], "values": [1.0]}, "sparseValues indices must be integers from 0 to 2\\^32 - 1"),
        ({"indices": [1, 1], "values": [1.0, 2.0]}, "sparseValues indices must be unique"),
        ({"indices": [1], "values": ["x"]}, "sparseValues values must be finite numbers"),
    ],
)
def test_sparse_values_refused(value: object, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        sparse_values(value)


def test_sparse_values_read() -> None:
    assert sparse_values(None) is None
    read = sparse_values({"indices": [3, 1], "values": [0.5, 2]})
    assert read is not None
    assert read.indices.tolist() == [3, 1]
    assert read.values.tolist() == [0.5, 2.0]
    with pytest.raises(BadRequest, match="sparseVector indices must be unique"):
        sparse_vector([1, 1], [1.0, 1.0], "sparseVector")


def test_a_later_duplicate_in_one_upsert_wins() -> None:
    rows = upsert_records(
        [{"id": "a", "values": [1, 0]}, {"id": "b", "values": [0, 1]}, {"id": "a", "values": [2, 0]}], 2
    )
    assert [(row.id, row.values.tolist()) for row in rows] == [("a", [2.0, 0.0]), ("b", [0.0, 1.0])]
    with pytest.raises(BadRequest, match="vectors must be a non-empty list"):
        upsert_records([], 2)
    with pytest.raises(BadRequest, match="vectors\\[0\\] must be an object with id and values"):
        upsert_records([[1, 0]], 2)


def test_id_lists_are_capped() -> None:
    assert id_list(["a", "b"]) == ["a", "b"]
    with pytest.raises(BadRequest, match="ids must be a list of strings"):
        id_list("a")
    with pytest.raises(BadRequest, match=f"ids takes at most {MAX_FETCH_IDS} ids"):
        id_list(["a"] * (MAX_FETCH_IDS + 1))


def test_only_a_dotproduct_index_is_queried_with_sparse_values() -> None:
    sparse = sparse_vector([1], [1.0], "sparseVector")
    check_sparse_query(sparse, Metric.DOTPRODUCT)
    check_sparse_query(None, Metric.COSINE)
    with pytest.raises(BadRequest, match="only on indexes with the dotproduct metric"):
        check_sparse_query(sparse, Metric.COSINE)
