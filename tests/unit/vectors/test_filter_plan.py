"""Filtered queries through the planner: exact where it scores the matching rows, recall@10 >= 0.95
against the exact filtered answer where it searches the graph, on Hypothesis-drawn filters keeping from
0.001% to 100% of a namespace large enough to have a graph."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.filter_plan import filtered_rows
from inferhouse.vectors.filters import compile_filter
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.rows import RowBatch, VectorRow
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

DIM = 24
ROWS = 20_000
TOPICS = 40
GENRES = ["drama", "comedy", "noir", "western", "opera"]


def _metadata(position: int, rank: int, topic: int) -> dict[str, Any]:
    record: dict[str, Any] = {"rank": rank, "genre": GENRES[position % 5], "topic": topic}
    if position % 3:
        record["tags"] = [f"t{position % 4}", "any"]
    if position % 2:
        record["flag"] = position % 4 == 1
    return record


class Built:
    def __init__(self, index: VectorIndex, vectors: npt.NDArray[np.float32], metadata: list[dict[str, Any]]):
        self.index, self.vectors, self.metadata = index, vectors, metadata
        self.norms = np.linalg.norm(vectors, axis=1)
        self.centres = np.random.default_rng(7).normal(size=(TOPICS, DIM)).astype(np.float32)

    def exact(self, query: npt.NDArray[np.float32], keep: npt.NDArray[np.bool_], k: int) -> list[str]:
        scores = (self.vectors @ query) / (self.norms * np.linalg.norm(query))
        rows = np.flatnonzero(keep)
        order = sorted(rows.tolist(), key=lambda row: (-float(scores[row]), f"v{row}"))
        return [f"v{row}" for row in order[:k]]

    def query(self, rng: np.random.Generator) -> npt.NDArray[np.float32]:
        centre = self.centres[rng.integers(0, TOPICS)]
        return (centre + rng.normal(size=DIM)).astype(np.float32)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    rng = np.random.default_rng(7)
    centres = rng.normal(size=(TOPICS, DIM)).astype(np.float32)
    topics = rng.integers(0, TOPICS, ROWS)
    vectors = (centres[topics] + rng.normal(size=(ROWS, DIM))).astype(np.float32)
    ranks = rng.permutation(ROWS)  # a field any share of rows can be cut from, rows spread at random
    metadata = [_metadata(i, int(ranks[i]), int(topics[i])) for i in range(ROWS)]
    path = tmp_path_factory.mktemp("plan") / "plan.sqlite3"
    index = VectorIndex(
        IndexConfig("plan", DIM, Metric.COSINE), VectorStore(path), AnnSettings(min_vectors=1000)
    )
    for start in range(0, ROWS, 5000):
        batch = RowBatch.dense([f"v{i}" for i in range(start, start + 5000)], vectors[start : start + 5000])
        batch.metadata[:] = metadata[start : start + 5000]
        index.upsert("", batch)
    while index.maintain(chunk=5000):
        pass
    yield Built(index, vectors, metadata)
    index.close()


SHARES = [0.00001, 0.0001, 0.001, 0.01, 0.05, 0.1, 0.3, 0.5, 0.9, 1.0]


def _spec(shape: str, share: float) -> dict[str, Any]:
    cut = round(share * ROWS)
    if shape == "range":
        return {"rank": {"$lt": cut}}
    if shape == "two ranges":
        return {"$or": [{"rank": {"$lt": cut // 2}}, {"rank": {"$gte": ROWS - (cut - cut // 2)}}]}
    if shape == "not in":
        return (
            {"rank": {"$nin": list(range(cut, ROWS))}}
            if cut > ROWS // 2
            else {"rank": {"$in": list(range(cut))}}
        )
    if shape == "and genre":  # a fifth of the range, by genre
        return {
            "$and": [
                {"rank": {"$lt": min(ROWS, cut * 5)}},
                {"genre": {"$ne": "drama"}},
                {"genre": {"$nin": ["noir", "western", "opera"]}},
            ]
        }
    return {"rank": {"$lte": cut - 1}, "tags": {"$exists": True}, "flag": {"$ne": True}}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.sampled_from(["range", "two ranges", "not in", "and genre", "tags and flag"]),
    st.sampled_from(SHARES),
    st.integers(0, 2**32),
)
def test_filtered_queries_are_exact_or_recall_well(built: Built, shape: str, share: float, seed: int) -> None:
    keep_filter = compile_filter(_spec(shape, share))
    keep = np.array([keep_filter.test(record) for record in built.metadata])
    space = built.index._namespaces[""]
    graph = built.index._graphs[""]
    rng = np.random.default_rng(seed)
    hits = total = 0
    for _ in range(10):
        query = built.query(rng)
        rows = filtered_rows(space, lambda count, q=query: graph.search(q, count), built.index.ann, 10, keep)
        used_graph = len(rows) < int(keep.sum())
        expected = built.exact(query, keep, 10)
        found = [match.record.id for match in built.index.query("", query, 10, keep_filter)]
        assert all(keep_filter.test(built.metadata[int(vid[1:])]) for vid in found)
        if not used_graph:
            assert found == expected
        else:
            assert len(found) == len(expected)
        hits += len(set(found) & set(expected))
        total += len(expected)
    assert total == 0 or hits / total >= 0.95, (shape, share, hits / total)


def test_an_unselective_filter_searches_the_graph(built: Built) -> None:
    keep = np.ones(ROWS, dtype=bool)
    keep[::2] = False
    space, graph = built.index._namespaces[""], built.index._graphs[""]
    query = built.query(np.random.default_rng(1))
    rows = filtered_rows(space, lambda count: graph.search(query, count), built.index.ann, 10, keep)
    assert 10 <= len(rows) < 2000
    assert keep[rows].all()
    few = np.zeros(ROWS, dtype=bool)
    few[:100] = True
    assert filtered_rows(
        space, lambda count: graph.search(query, count), built.index.ann, 10, few
    ).tolist() == list(range(100))


def test_a_filter_that_excludes_the_query_neighbourhood_widens_the_search(built: Built) -> None:
    # Everything but the query's own topic: 97% of rows match, none of the nearest.
    rng = np.random.default_rng(3)
    for topic in range(3):
        query = (built.centres[topic] + 0.1 * rng.normal(size=DIM)).astype(np.float32)
        keep_filter = compile_filter({"topic": {"$ne": topic}})
        keep = np.array([keep_filter.test(record) for record in built.metadata])
        found = [match.record.id for match in built.index.query("", query, 10, keep_filter)]
        assert len(set(found) & set(built.exact(query, keep, 10))) >= 9


def test_an_eighth_asks_the_graph_twice_as_deep_as_its_top_k(built: Built) -> None:
    # 20 of an unfiltered query's 100 candidates are wanted among the matches: 160 deep at 12.5%.
    keep = np.zeros(ROWS, dtype=bool)
    keep[::8] = True
    space, graph = built.index._namespaces[""], built.index._graphs[""]
    asked: list[int] = []

    def search(count: int, query: npt.NDArray[np.float32]) -> npt.NDArray[np.uint64]:
        asked.append(count)
        return graph.search(query, count)

    query = built.query(np.random.default_rng(2))
    rows = filtered_rows(space, lambda count: search(count, query), built.index.ann, 10, keep)
    assert asked == [160]
    assert 10 <= len(rows) <= 40
    assert keep[rows].all()


def test_a_tenth_that_misses_the_query_neighbourhood_widens_until_exact(built: Built) -> None:
    # Four topics of forty (a tenth of the rows) kept, none of them the query's: the graph's nearest
    # rows match nothing, so the search widens and ends in the exact plan, which is the exact answer.
    rng = np.random.default_rng(4)
    query = (built.centres[0] + 0.1 * rng.normal(size=DIM)).astype(np.float32)
    keep_filter = compile_filter({"topic": {"$in": [10, 20, 30, 39]}})
    keep = np.array([keep_filter.test(record) for record in built.metadata])
    found = [match.record.id for match in built.index.query("", query, 10, keep_filter)]
    assert found == built.exact(query, keep, 10)


def test_rows_the_graph_lacks_are_still_found(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    index = VectorIndex(
        IndexConfig("late", 8, Metric.COSINE),
        VectorStore(tmp_path / "late.sqlite3"),
        AnnSettings(min_vectors=1000),
    )
    vectors = rng.normal(size=(3000, 8)).astype(np.float32)
    index.upsert("", [VectorRow(f"v{i}", vectors[i], None, {"half": i % 2}) for i in range(3000)])
    while index.maintain():
        pass
    query = rng.normal(size=8).astype(np.float32)
    index.upsert("", [VectorRow("late", query * 2, None, {"half": 1})])  # not in the graph yet
    found = index.query("", query, 10, compile_filter({"half": 1}))
    assert found[0].record.id == "late"
    assert all(match.record.metadata == {"half": 1} for match in found)
    index.close()
