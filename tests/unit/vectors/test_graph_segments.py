"""A graph in segments: new keys fill the last segment, a search merges every segment's nearest, and a
saved graph of several segments loads whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from inferhouse.vectors.ann import AnnGraph, AnnSettings
from inferhouse.vectors.graph_files import graphs_directory
from inferhouse.vectors.index import IndexConfig, VectorIndex
from inferhouse.vectors.quantization import Quantization
from inferhouse.vectors.rows import RowBatch
from inferhouse.vectors.scoring import Metric
from inferhouse.vectors.store import VectorStore

DIM = 16
SEGMENTED = AnnSettings(min_vectors=200, candidates=40, segment_vectors=700)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(11)


def _keys(count: int, first: int = 0) -> np.ndarray:
    return np.arange(first, first + count, dtype=np.uint64)


def test_keys_past_a_segments_size_start_the_next_and_a_search_finds_them_all(
    rng: np.random.Generator,
) -> None:
    graph = AnnGraph(DIM, Metric.COSINE, SEGMENTED)
    vectors = rng.normal(size=(2000, DIM)).astype(np.float32)
    graph.add(_keys(1000), vectors[:1000])
    graph.add(_keys(1000, 1000), vectors[1000:])
    assert (len(graph), graph.segments) == (2000, 3)
    # Each vector is its own nearest neighbour, in whichever segment it went to.
    for row in (0, 699, 700, 1399, 1400, 1999):
        assert graph.search(vectors[row], 5)[0] == row
    found = graph.search(vectors[5], 50)
    assert len(found) == 50
    assert len(set(found.tolist())) == 50
    # Merged by distance: the true nearest 10 lead, from every segment, not the first segment's 50.
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    nearest = np.argsort(-(unit @ unit[5]))[:10]
    assert len(set(nearest.tolist()) & set(found[:15].tolist())) >= 9
    assert {int(key) // 700 for key in found} == {0, 1, 2}


def test_a_removed_key_leaves_whichever_segment_held_it(rng: np.random.Generator) -> None:
    graph = AnnGraph(DIM, Metric.EUCLIDEAN, SEGMENTED, Quantization.INT8)
    vectors = rng.normal(size=(1500, DIM)).astype(np.float32)
    graph.add(_keys(1500), vectors)
    graph.remove(np.array([10, 800, 1450, 99_999], dtype=np.uint64))
    assert len(graph) == 1497
    for row in (10, 800, 1450):
        assert row not in graph.search(vectors[row], 20).tolist()


def _open(path: Path, settings: AnnSettings = SEGMENTED) -> VectorIndex:
    return VectorIndex(IndexConfig("segments", DIM, Metric.COSINE), VectorStore(path), settings)


def _recall(index: VectorIndex, rng: np.random.Generator) -> float:
    space = index._namespaces[""]
    found = 0
    for query in rng.normal(size=(20, DIM)).astype(np.float32):
        got = {match.record.id for match in index.query("", query, 10)}
        found += len(got & {space.ids[hit.row] for hit in space.search(query, 10, Metric.COSINE)})
    return found / 200


def test_a_segmented_graph_is_saved_and_loaded_whole(tmp_path: Path, rng: np.random.Generator) -> None:
    index = _open(tmp_path / "i.sqlite3")
    ids = [f"v{i}" for i in range(2500)]
    vectors = rng.normal(size=(2500, DIM)).astype(np.float32)
    index.upsert("", RowBatch(ids, vectors, [None] * 2500, [None] * 2500))
    while index.maintain(256):
        pass
    assert index._graphs[""].segments == 4
    assert _recall(index, rng) >= 0.95
    index.close()

    manifest = json.loads(next(graphs_directory(tmp_path / "i.sqlite3").glob("*.json")).read_bytes())
    assert sorted(manifest["files"]) == ["graph", "graph.1", "graph.2", "graph.3", "keys"]
    assert manifest["format"] == 2  # a version that reads one file only rebuilds rather than trust it
    reopened = _open(tmp_path / "i.sqlite3")
    graph = reopened._graphs[""]
    assert (len(graph), graph.segments) == (2500, 4)
    assert len(reopened._namespaces[""].unindexed) == 0  # loaded, nothing left to add
    assert _recall(reopened, rng) >= 0.95
    reopened.close()

    # One damaged segment and the whole saved graph is distrusted: the graph is built again.
    directory = graphs_directory(tmp_path / "i.sqlite3")
    third = directory / manifest["files"]["graph.2"]["name"]
    third.write_bytes(third.read_bytes()[:-64])
    rebuilt = _open(tmp_path / "i.sqlite3")
    assert "" not in rebuilt._graphs
    assert len(rebuilt._namespaces[""].unindexed) == 2500
    while rebuilt.maintain(256):
        pass
    assert rebuilt._graphs[""].segments == 4
    assert _recall(rebuilt, rng) >= 0.95
    rebuilt.close()


def test_a_graph_saved_in_one_segment_loads_under_a_smaller_segment_size(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    """The segment size decides where new keys go; a saved graph keeps the segments it was saved with."""
    whole = AnnSettings(min_vectors=200, candidates=40)
    index = _open(tmp_path / "i.sqlite3", whole)
    vectors = rng.normal(size=(1200, DIM)).astype(np.float32)
    ids = [f"v{i}" for i in range(1200)]
    index.upsert("", RowBatch(ids, vectors, [None] * 1200, [None] * 1200))
    while index.maintain(256):
        pass
    index.close()
    manifest = json.loads(next(graphs_directory(tmp_path / "i.sqlite3").glob("*.json")).read_bytes())
    assert manifest["format"] == 1  # one segment: the layout every earlier version reads
    reopened = _open(tmp_path / "i.sqlite3")
    assert (len(reopened._graphs[""]), reopened._graphs[""].segments) == (1200, 1)
    more = rng.normal(size=(300, DIM)).astype(np.float32)
    extra = [f"w{i}" for i in range(300)]
    reopened.upsert("", RowBatch(extra, more, [None] * 300, [None] * 300))
    while reopened.maintain(256):
        pass
    assert (len(reopened._graphs[""]), reopened._graphs[""].segments) == (1500, 2)
    assert reopened.query("", more[7], 1)[0].record.id == "w7"
    reopened.close()


def test_a_neighbourhood_held_by_one_segment_is_found_whole(rng: np.random.Generator) -> None:
    """Segments are asked for their share of a search at first; one whose answers all make the cut is
    asked again, deeper, so rows added in the order of their topic are still found."""
    graph = AnnGraph(DIM, Metric.COSINE, SEGMENTED)
    centre = rng.normal(size=DIM).astype(np.float32)
    topic = (centre + 0.3 * rng.normal(size=(700, DIM))).astype(np.float32)
    others = rng.normal(size=(1400, DIM)).astype(np.float32)
    vectors = np.concatenate([topic, others])
    graph.add(_keys(2100), vectors)  # the topic fills the first segment, alone
    found = graph.search(centre, 300)  # its share would be 2 * 300 / 3 + 10 = 210
    assert len(found) == 300
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    exact = np.argsort(-(unit @ (centre / np.linalg.norm(centre))))[:300]
    assert np.all(exact < 700)
    assert len(set(found.tolist()) & set(exact.tolist())) >= 0.95 * 300


def test_rewritten_rows_refill_the_segments_they_left(rng: np.random.Generator) -> None:
    """Rewrites remove keys from old segments and add new ones: the graph keeps as many segments as its
    live keys need, not one more per million rewrites."""
    graph = AnnGraph(DIM, Metric.COSINE, SEGMENTED)
    vectors = rng.normal(size=(1400, DIM)).astype(np.float32)
    graph.add(_keys(1400), vectors)
    graph.remove(_keys(350))  # half of the first segment rewritten: its new keys refill it
    fresh = rng.normal(size=(350, DIM)).astype(np.float32)
    graph.add(_keys(350, 5000), fresh)
    assert (len(graph), graph.segments) == (1400, 2)
    graph.remove(_keys(350, 350))
    graph.remove(_keys(350, 5000))  # the first segment emptied: it is dropped
    assert (len(graph), graph.segments) == (700, 1)
    assert graph.search(vectors[900], 3)[0] == 900
    graph.remove(_keys(700, 700))
    assert (len(graph), graph.segments) == (0, 1)
    graph.add(_keys(10, 9000), fresh[:10])
    assert graph.search(fresh[4], 1)[0] == 9004
