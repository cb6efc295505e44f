"""The Pinecone data plane, through the real ``pinecone`` client, on every vector backend.

Each backend in ``VECTOR_BACKENDS`` (tests/contract/conftest.py) serves the same cases: exact scores for
the three metrics against numpy, every filter operator against a reference evaluator written here from
the documented semantics (vectors/filters.py), namespaces, listing, updates and deletes, and recall@10
of approximate search against exact search. A new backend adds one entry and runs them all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from pinecone import ApiError, Index, Pinecone

from tests.support.server import RunningServer, index_name_for

Vectors = npt.NDArray[np.float32]
_MISSING = object()
GENRES = ("drama", "comedy", "noir", "western")


@pytest.fixture
def pc(vector_server: RunningServer) -> Iterator[Pinecone]:
    with Pinecone(api_key=vector_server.token, host=vector_server.url) as client:
        yield client


@pytest.fixture
def make_index(pc: Pinecone, request: pytest.FixtureRequest) -> Iterator[Callable[..., Index]]:
    """``make_index(dimension, metric)``: a new index for this test, deleted afterwards."""
    made: list[tuple[str, Index]] = []

    def make(dimension: int, metric: str = "cosine") -> Index:
        name = index_name_for(f"{request.node.name}-{len(made)}", "dp")
        pc.create_index(name, dimension=dimension, metric=metric)
        made.append((name, pc.Index(name)))
        return made[-1][1]

    yield make
    for name, index in made:
        index.close()
        pc.delete_index(name)


def _vectors(seed: int, count: int, dimension: int) -> Vectors:
    return np.random.default_rng(seed).normal(size=(count, dimension)).astype(np.float32)


def _metadata(position: int) -> dict[str, Any]:
    """Varied metadata: strings, numbers, booleans, lists, and fields some records lack."""
    record: dict[str, Any] = {"genre": GENRES[position % 4], "year": 1990 + position % 35}
    if position % 3:
        record["tags"] = [f"t{position % 5}", f"t{(position * 7) % 5}"]
    if position % 2:
        record["classic"] = position % 4 == 1
    if position % 10 == 0:
        record["rating"] = position / 10
    return record


def _upsert(index: Index, vectors: Vectors, namespace: str = "", metadata: bool = True) -> None:
    for start in range(0, len(vectors), 500):
        batch = [
            {
                "id": str(position),
                "values": vectors[position].tolist(),
                **({"metadata": _metadata(position)} if metadata else {}),
            }
            for position in range(start, min(start + 500, len(vectors)))
        ]
        index.upsert(vectors=batch, namespace=namespace)


def _all_ids(index: Index, namespace: str) -> set[str]:
    """Every id in ``namespace``, page by page."""
    ids: set[str] = set()
    token = None
    while True:
        page = index.list_paginated(namespace=namespace, limit=50, pagination_token=token)
        ids.update(item.id for item in page.vectors)
        token = page.pagination.next if page.pagination else None
        if not token:
            return ids


def _exact(vectors: Vectors, query: Vectors, metric: str) -> tuple[npt.NDArray[np.int64], Vectors]:
    """Ids ranked best first and their scores, as Pinecone defines them."""
    if metric == "dotproduct":
        scores = vectors @ query
    elif metric == "cosine":
        scores = (vectors @ query) / (np.linalg.norm(vectors, axis=1) * np.linalg.norm(query))
    else:
        scores = ((vectors - query) ** 2).sum(axis=1)
    order = np.argsort(scores if metric == "euclidean" else -scores, kind="stable")
    return order, scores[order]


# -- a reference filter evaluator, from the documented semantics ------------------------------------


def _same(a: object, b: object) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _holds(op: str, value: object, operand: Any) -> bool:
    elements = value if isinstance(value, list) else [value]
    if op == "$exists":
        return (value is not _MISSING) == operand
    if op in ("$eq", "$ne"):
        found = value is not _MISSING and any(_same(element, operand) for element in elements)
        return found if op == "$eq" else not found
    if op in ("$in", "$nin"):
        found = value is not _MISSING and any(_same(e, o) for e in elements for o in operand)
        return found if op == "$in" else not found
    number = isinstance(value, int | float) and not isinstance(value, bool)
    compare = {"$gt": float.__gt__, "$gte": float.__ge__, "$lt": float.__lt__, "$lte": float.__le__}[op]
    return number and compare(float(value), float(operand))  # type: ignore[arg-type]


def _matches(spec: Mapping[str, Any], metadata: Mapping[str, Any]) -> bool:
    for key, condition in spec.items():
        if key == "$and":
            ok = all(_matches(clause, metadata) for clause in condition)
        elif key == "$or":
            ok = any(_matches(clause, metadata) for clause in condition)
        elif isinstance(condition, Mapping):
            ok = all(_holds(op, metadata.get(key, _MISSING), operand) for op, operand in condition.items())
        else:
            ok = _holds("$eq", metadata.get(key, _MISSING), condition)
        if not ok:
            return False
    return True


FILTERS: list[dict[str, Any]] = [
    {"genre": "drama"},
    {"genre": {"$ne": "drama"}},
    {"genre": {"$in": ["noir", "western"]}},
    {"genre": {"$nin": ["noir", "western"]}},
    {"year": {"$gte": 2000, "$lt": 2010}},
    {"year": {"$gt": 2020}},
    {"year": {"$lte": 1991}},
    {"tags": "t3"},
    {"tags": {"$in": ["t0", "t4"]}},
    {"tags": {"$nin": ["t1"]}},
    {"classic": True},
    {"classic": {"$exists": False}},
    {"rating": {"$exists": True}},
    {"rating": {"$gt": 5}},
    {"$or": [{"genre": "comedy"}, {"classic": True}]},
    {"$and": [{"genre": {"$ne": "comedy"}}, {"$or": [{"year": {"$lt": 1995}}, {"tags": "t2"}]}]},
    {"genre": "drama", "year": {"$gte": 2005}},
    {"year": "2005"},  # types never mix: a string never equals a number
]


# -- the cases ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dotproduct"])
def test_exact_scores_match_numpy(make_index: Callable[..., Index], metric: str) -> None:
    vectors = _vectors(1, 300, 16)
    index = make_index(16, metric)
    _upsert(index, vectors, metadata=False)
    for query in _vectors(2, 5, 16):
        expected_ids, expected_scores = _exact(vectors, query, metric)
        found = index.query(vector=query.tolist(), top_k=10).matches
        assert [match.id for match in found] == [str(i) for i in expected_ids[:10]]
        assert [match.score for match in found] == pytest.approx(expected_scores[:10].tolist(), rel=1e-4)


@pytest.mark.parametrize("spec", FILTERS, ids=[str(spec) for spec in FILTERS])
def test_every_filter_selects_what_the_reference_does(
    make_index: Callable[..., Index], spec: dict[str, Any]
) -> None:
    vectors = _vectors(3, 200, 8)
    index = make_index(8, "cosine")
    _upsert(index, vectors)
    expected = {str(i) for i in range(len(vectors)) if _matches(spec, _metadata(i))}
    found = index.query(vector=vectors[0].tolist(), top_k=1000, filter=spec, include_metadata=True).matches
    assert {match.id for match in found} == expected
    assert all(_matches(spec, match.metadata or {}) for match in found)
    assert index.describe_index_stats(filter=spec).total_vector_count == len(expected)


def test_a_filtered_query_ranks_within_the_filter(make_index: Callable[..., Index]) -> None:
    vectors = _vectors(4, 400, 12)
    index = make_index(12, "dotproduct")
    _upsert(index, vectors)
    spec = {"$or": [{"genre": "noir"}, {"tags": "t1"}]}
    allowed = np.array([_matches(spec, _metadata(i)) for i in range(len(vectors))])
    for query in _vectors(5, 5, 12):
        order, _ = _exact(vectors, query, "dotproduct")
        expected = [str(i) for i in order if allowed[i]][:10]
        found = index.query(vector=query.tolist(), top_k=10, filter=spec).matches
        assert [match.id for match in found] == expected


def test_deleting_by_filter_removes_exactly_the_matches(make_index: Callable[..., Index]) -> None:
    vectors = _vectors(6, 120, 4)
    index = make_index(4, "cosine")
    _upsert(index, vectors, namespace="films")
    spec = {"$and": [{"genre": "western"}, {"year": {"$lt": 2010}}]}
    index.delete(filter=spec, namespace="films")
    kept = {str(i) for i in range(len(vectors)) if not _matches(spec, _metadata(i))}
    listed = _all_ids(index, "films")
    assert listed == kept
    assert index.describe_index_stats().namespaces["films"].vector_count == len(kept)


def test_namespaces_listing_updates_and_deletes(make_index: Callable[..., Index]) -> None:
    vectors = _vectors(7, 30, 4)
    index = make_index(4, "euclidean")
    _upsert(index, vectors[:20], namespace="a")
    _upsert(index, vectors[20:], namespace="b")
    stats = index.describe_index_stats()
    assert (stats.namespaces["a"].vector_count, stats.namespaces["b"].vector_count) == (20, 10)
    page = index.list_paginated(namespace="a", prefix="1", limit=4)
    assert [item.id for item in page.vectors] == ["1", "10", "11", "12"]
    rest = index.list_paginated(namespace="a", prefix="1", limit=4, pagination_token=page.pagination.next)
    assert [item.id for item in rest.vectors] == ["13", "14", "15", "16"]
    index.update(id="3", values=[9.0, 9.0, 9.0, 9.0], set_metadata={"genre": "opera"}, namespace="a")
    fetched = index.fetch(ids=["3", "25", "missing"], namespace="a").vectors
    assert sorted(fetched) == ["3"]  # 25 lives in namespace b
    assert fetched["3"].values == [9.0, 9.0, 9.0, 9.0]
    assert fetched["3"].metadata == {**_metadata(3), "genre": "opera"}
    nearest = index.query(vector=[9.0, 9.0, 9.0, 9.0], top_k=1, namespace="a").matches[0]
    assert (nearest.id, nearest.score) == ("3", pytest.approx(0.0, abs=1e-4))
    index.delete(ids=["3", "4"], namespace="a")
    assert index.describe_index_stats().namespaces["a"].vector_count == 18
    index.delete(delete_all=True, namespace="b")
    assert "b" not in index.describe_index_stats().namespaces


def test_a_rejected_upsert_changes_nothing(make_index: Callable[..., Index]) -> None:
    index = make_index(4, "cosine")
    _upsert(index, _vectors(8, 5, 4))
    with pytest.raises(ApiError) as refused:
        index.upsert(vectors=[("new", [1.0, 2.0, 3.0, 4.0]), ("short", [1.0, 2.0])])
    assert refused.value.status_code == 400
    with pytest.raises(ApiError) as bad_filter:
        index.query(vector=[1.0, 0, 0, 0], top_k=3, filter={"genre": {"$regex": "d.*"}})
    assert bad_filter.value.status_code == 400
    assert index.describe_index_stats().total_vector_count == 5
    assert index.fetch(ids=["new"]).vectors == {}


def test_approximate_search_recalls_what_exact_search_finds(
    make_index: Callable[..., Index], vector_backend: str
) -> None:
    # Past the backend's approximate-search threshold (set low for this server), then 50 queries.
    vectors = _vectors(9, 3000, 32)
    index = make_index(32, "cosine")
    _upsert(index, vectors, metadata=False)
    hits = 0
    queries = _vectors(10, 50, 32)
    for query in queries:
        expected = {str(i) for i in _exact(vectors, query, "cosine")[0][:10]}
        found = index.query(vector=query.tolist(), top_k=10).matches
        hits += len(expected & {match.id for match in found})
    recall = hits / (10 * len(queries))
    assert recall >= 0.95, f"{vector_backend}: recall@10 {recall:.3f}"


# -- filtered search at different selectivities, past the approximate-search threshold --------------

SELECTIVE_FILTERS: list[dict[str, Any]] = [
    {"rank": {"$lt": 3}},  # 0.1%: the backend scores the matches exactly
    {"rank": {"$in": list(range(0, 3000, 100))}},  # 1%
    {"bucket": 3},  # 10%
    {"$or": [{"bucket": {"$lt": 4}}, {"bucket": 9}]},  # 50%
    {"bucket": {"$ne": 3}},  # 90%
]


@pytest.mark.parametrize("spec", SELECTIVE_FILTERS, ids=[str(spec)[:40] for spec in SELECTIVE_FILTERS])
def test_filtered_queries_recall_the_exact_filtered_answer(
    make_index: Callable[..., Index], vector_backend: str, spec: dict[str, Any]
) -> None:
    vectors = _vectors(11, 3000, 32)
    index = make_index(32, "cosine")
    for start in range(0, len(vectors), 500):
        index.upsert(
            vectors=[
                {"id": str(i), "values": vectors[i].tolist(), "metadata": {"rank": i, "bucket": i % 10}}
                for i in range(start, start + 500)
            ]
        )
    allowed = np.array([_matches(spec, {"rank": i, "bucket": i % 10}) for i in range(len(vectors))])
    hits = wanted = 0
    for query in _vectors(12, 20, 32):
        order, _ = _exact(vectors, query, "cosine")
        expected = [str(i) for i in order if allowed[i]][:10]
        found = index.query(vector=query.tolist(), top_k=10, filter=spec).matches
        assert len(found) == len(expected)  # never too few, whichever plan answered
        assert all(allowed[int(match.id)] for match in found)
        hits += len(set(expected) & {match.id for match in found})
        wanted += len(expected)
    recall = hits / wanted
    assert recall >= 0.95, f"{vector_backend}: filtered recall@10 {recall:.3f} for {spec}"
    assert index.describe_index_stats(filter=spec).total_vector_count == int(allowed.sum())
