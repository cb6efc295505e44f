"""The ANN path: candidates from the graph, exact rescoring, and every acknowledged write visible."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from inferhouse.vectors.ann import AnnSettings
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.rows import VectorRow
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

DIM = 32


def _clustered(rng: np.random.Generator, n: int) -> np.ndarray:
    centres = rng.normal(size=(40, DIM))
    points = centres[rng.integers(0, 40, n)] + rng.normal(size=(n, DIM))  # overlapping topics, as in text
    return points.astype(np.float32)


@pytest.fixture
def index(tmp_path: Path) -> VectorIndex:
    config = IndexConfig("ann", DIM, Metric.COSINE)
    return VectorIndex(config, VectorStore(tmp_path / "ann.sqlite3"), AnnSettings(min_vectors=1000))


def _fill(index: VectorIndex, vectors: np.ndarray) -> None:
    for start in range(0, len(vectors), 500):
        index.upsert(
            "", [VectorRow(f"v{i}", vectors[i]) for i in range(start, min(start + 500, len(vectors)))]
        )


def _drain(index: VectorIndex) -> None:
    while index.maintain():
        pass


def _exact(index: VectorIndex, query: np.ndarray, k: int) -> list[str]:
    space = index._namespaces[""]
    return [space.ids[hit.row] for hit in space.search(query, k, Metric.COSINE)]


def test_graph_answers_with_high_recall(index: VectorIndex) -> None:
    rng = np.random.default_rng(0)
    _fill(index, _clustered(rng, 5000))
    _drain(index)
    assert len(index._graphs[""]) == 5000
    recalls = []
    for query in _clustered(rng, 50):
        got = [m.record.id for m in index.query("", query, 10)]
        recalls.append(len(set(got) & set(_exact(index, query, 10))) / 10)
    assert np.mean(recalls) >= 0.95


def test_scores_are_exact_even_through_the_graph(index: VectorIndex) -> None:
    rng = np.random.default_rng(1)
    vectors = _clustered(rng, 3000)
    _fill(index, vectors)
    _drain(index)
    found_themselves = 0
    for row in range(0, 3000, 30):  # 100 stored vectors as queries
        query = vectors[row]
        matches = index.query("", query, 5)
        found_themselves += matches[0].record.id == f"v{row}"
        for match in matches:  # the graph proposes; every score is computed exactly from the rows
            values = match.record.values
            exact = float(values @ query / (np.linalg.norm(values) * np.linalg.norm(query)))
            assert match.score == pytest.approx(exact, abs=1e-5)
    # The graph is approximate: a member may, rarely, be missed; recall stays near 1.
    assert found_themselves >= 97


def test_writes_are_visible_before_the_graph_has_them(index: VectorIndex) -> None:
    rng = np.random.default_rng(2)
    _fill(index, _clustered(rng, 3000))
    _drain(index)
    fresh = rng.normal(size=DIM).astype(np.float32) * 10
    index.upsert("", [VectorRow("fresh", fresh)])
    assert index.query("", fresh, 1)[0].record.id == "fresh"  # not maintained yet: scored exactly
    index.upsert("", [VectorRow("v7", -fresh)])  # overwrite a graph member with a new vector
    assert index.query("", -fresh, 1)[0].record.id == "v7"
    index.delete("", ["fresh"])
    assert "fresh" not in [m.record.id for m in index.query("", fresh, 5)]
    _drain(index)
    assert index.query("", -fresh, 1)[0].record.id == "v7"
    assert "fresh" not in [m.record.id for m in index.query("", fresh, 5)]


def test_filtered_queries_stay_exact(index: VectorIndex) -> None:
    from inferhouse.vectors.filters import compile_filter

    rng = np.random.default_rng(3)
    vectors = _clustered(rng, 2000)
    index.upsert("", [VectorRow(f"v{i}", vectors[i], None, {"bucket": i % 50}) for i in range(2000)])
    _drain(index)
    hits = index.query("", vectors[0], 40, compile_filter({"bucket": 7}))
    assert sorted(m.record.id for m in hits) == sorted(f"v{i}" for i in range(7, 2000, 50))


def _recall_and_rescored(tmp_path: Path, width: int) -> tuple[float, int]:
    """Recall@10 of a sparse graph over points with no structure (the hard case: every neighbour is
    nearly as far as the next) searched ``width`` wide, and the most rows a query rescored."""
    settings = AnnSettings(
        min_vectors=1000, candidates=20, search_width=width, connectivity=8, expansion_add=32
    )
    config = IndexConfig("wide", 64, Metric.COSINE)
    index = VectorIndex(config, VectorStore(tmp_path / f"wide{width}.sqlite3"), settings)
    rng = np.random.default_rng(7)
    for start in range(0, 4000, 500):
        vectors = rng.normal(size=(500, 64)).astype(np.float32)
        index.upsert("", [VectorRow(f"v{start + i}", vector) for i, vector in enumerate(vectors)])
    _drain(index)
    recalls, rescored = [], 0
    for query in rng.normal(size=(40, 64)).astype(np.float32):
        proposed = index._ann_candidates("", index._namespaces[""], query, 10)
        assert proposed is not None
        rescored = max(rescored, len(proposed))
        got = [m.record.id for m in index.query("", query, 10)]
        recalls.append(len(set(got) & set(_exact(index, query, 10))) / 10)
    return float(np.mean(recalls)), rescored


def test_a_wider_search_finds_more_neighbours_and_rescores_no_more_rows(tmp_path: Path) -> None:
    narrow, narrow_rescored = _recall_and_rescored(tmp_path, 20)
    wide, wide_rescored = _recall_and_rescored(tmp_path, 400)
    assert wide >= 0.95
    assert wide > narrow + 0.05
    assert narrow_rescored == wide_rescored == 20
